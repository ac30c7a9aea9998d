#!/usr/bin/env bash
# The whole test suite from a clean clone, as CI runs it (.ci/run) and the README says:
# install Prometheus's Debian package when promtool or prometheus is missing (the
# observability tests validate the alert rules and the live endpoint with promtool,
# and scrape a mounted pool with a real Prometheus server), then `npm ci && npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  echo "scripts/test.sh: installing the Debian package prometheus (promtool, prometheus) for the observability tests" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
npm ci
npm test
