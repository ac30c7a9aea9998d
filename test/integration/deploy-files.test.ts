/**
 * What ships in deploy/: the Prometheus alert rules pass `promtool check rules` and their
 * unit tests (`promtool test rules`: each alert fires on the series it is meant for and
 * not before its `for`), and the systemd unit runs the coordinator in the foreground with
 * Restart=on-failure and passes `systemd-analyze verify`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, REPO } from '../helpers/cli';
import { promtool } from '../helpers/prometheus';
import { withTmpDir } from '../helpers/tmp';

const RULES = path.join(REPO, 'deploy', 'prometheus', 'dynamicfs_alerts.yml');
const RULE_TESTS = path.join(REPO, 'deploy', 'prometheus', 'dynamicfs_alerts_test.yml');
const UNIT = path.join(REPO, 'deploy', 'systemd', 'dynamicfs@.service');

test('the alert rules pass promtool check rules and their unit tests', () => {
  const check = promtool(['check', 'rules', RULES]);
  assert.equal(check.code, 0, check.out);
  assert.match(check.out, /SUCCESS: \d+ rules found/);
  const units = promtool(['test', 'rules', RULE_TESTS]);
  assert.equal(units.code, 0, units.out);

  const text = fs.readFileSync(RULES, 'utf8');
  const alerts = new Map([...text.matchAll(/- alert: (\S+)\n\s+expr: (.+)\n(?:\s+for: .+\n)?\s+labels:\n\s+severity: (\w+)/g)].map((m) => [m[1]!, { expr: m[2]!, severity: m[3]! }]));
  // The list: critical for unrecoverable extents, failed disks, coordinator down;
  // warning for degraded extents, scrub findings, capacity over 85%.
  const want: [string, RegExp, string][] = [
    ['DynamicFSUnrecoverableExtents', /dynamicfs_extents\{state="unrecoverable"\}/, 'critical'],
    ['DynamicFSDiskFailed', /dynamicfs_disk_state\{state="failed"\} == 1/, 'critical'],
    ['DynamicFSCoordinatorDown', /up\{job="dynamicfs"\} == 0/, 'critical'],
    ['DynamicFSDegradedExtents', /dynamicfs_extents\{state="degraded"\}/, 'warning'],
    ['DynamicFSScrubFindings', /dynamicfs_scrub_issues_total/, 'warning'],
    ['DynamicFSCapacityHigh', /dynamicfs_pool_used_bytes \/ dynamicfs_pool_capacity_bytes > 0\.85/, 'warning'],
  ];
  for (const [name, expr, severity] of want) {
    const a = alerts.get(name);
    assert.ok(a, `alert ${name} is defined`);
    assert.match(a.expr, expr, name);
    assert.equal(a.severity, severity, name);
  }
});

test('the systemd unit runs the coordinator in the foreground and restarts it on failure', async () => {
  const unit = fs.readFileSync(UNIT, 'utf8');
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
  assert.match(exec, /dynamicfs mount \$\{POOL\} \$\{MOUNTPOINT\} --foreground/);
  assert.match(exec, /--metrics-port \$\{METRICS_PORT\}/);
  assert.match(unit, /^Restart=on-failure$/m);
  assert.match(unit, /^KillSignal=SIGTERM$/m, 'SIGTERM makes the coordinator flush and unmount');
  assert.match(unit, /^EnvironmentFile=\/etc\/dynamicfs\/%i\.env$/m);
  // The options the unit passes are ones `mount` accepts.
  const help = spawnSync(process.execPath, [BIN, 'mount', '--help'], { encoding: 'utf8' }).stdout;
  for (const flag of exec.match(/--[a-z-]+/g) ?? []) assert.ok(help.includes(flag), `mount --help lists ${flag}`);

  // scripts/test.sh installs systemd-analyze (Debian package systemd); without it this fails rather than passing unverified.
  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  assert.equal(analyze.error, undefined, 'systemd-analyze is missing: install the Debian package systemd (scripts/test.sh does)');
  assert.equal(analyze.status, 0, analyze.stderr);
  await withTmpDir((dir) => {
    // verify needs the binary to exist: point it at this checkout's.
    const copy = path.join(dir, 'dynamicfs@test.service');
    fs.writeFileSync(copy, unit.replace('/usr/local/bin/dynamicfs', BIN));
    const v = spawnSync('systemd-analyze', ['verify', '--man=no', copy], { encoding: 'utf8', cwd: dir });
    assert.equal(v.status, 0, `systemd-analyze verify: ${v.stdout}${v.stderr}`);
  });
});
