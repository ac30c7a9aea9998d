#!/usr/bin/env bash
# The whole test suite from a clean clone, as CI runs it (.ci/run) and the README says:
# install the Debian packages the tests drive when they are missing, then
# `npm ci`, the layer check, the native kernels' own tests (make -C native test) and
# `npm test`. The packages:
# - prometheus: the observability tests validate the alert rules and the live endpoint
#   with promtool, and scrape a mounted pool with a real Prometheus server;
# - fio, and libpython3.X-testsuite for the system python3: the conformance tests run
#   fio's write-and-verify and CPython's os/posix/shutil/... test suites on a mount;
# - git: a real program run on a mount; util-linux for setpriv: the permission tests run
#   commands as other users;
# - systemd, for systemd-analyze: the deploy test verifies the shipped unit. Installing it
#   in a container starts nothing (its scripts only act when systemd is running as PID 1).
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
updated=""
apt_install() {
  echo "scripts/test.sh: installing Debian packages for the tests: $*" >&2
  if [ -z "$updated" ]; then $sudo apt-get update -qq; updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
packages=()
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then packages+=(prometheus); fi
if ! command -v fio >/dev/null 2>&1; then packages+=(fio); fi
if [ ! -x /usr/bin/python3 ]; then packages+=(python3); fi
if ! command -v git >/dev/null 2>&1; then packages+=(git); fi
if ! command -v setpriv >/dev/null 2>&1; then packages+=(util-linux); fi
if ! command -v systemd-analyze >/dev/null 2>&1; then packages+=(systemd); fi
if [ ${#packages[@]} -gt 0 ]; then apt_install "${packages[@]}"; fi
if ! /usr/bin/python3 -c 'import test.test_os' >/dev/null 2>&1; then
  apt_install "libpython3.$(/usr/bin/python3 -c 'import sys; print(sys.version_info.minor)')-testsuite"
fi
npm ci
npm run check:deps
make -C native test   # the C++ kernels on their own, once per instruction-set level
npm test
