/**
 * End to end with a real Prometheus server (Debian package prometheus): it scrapes a
 * pool mounted with `--metrics-port`, with deploy/prometheus/dynamicfs_alerts.yml
 * loaded. A file written through the mount shows up as dynamicfs_fragment_writes_total
 * in a PromQL query, every shipped rule evaluates without error, and when three of the
 * six disks vanish the critical alert DynamicFSUnrecoverableExtents fires.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO } from '../helpers/cli';
import { withMount } from '../helpers/mount';
import { eventually, freePort, httpGet, parseExposition, requireTool, startPrometheus, type PrometheusServer } from '../helpers/prometheus';
import { rmrf, tmpDir } from '../helpers/tmp';

const RULES = path.join(REPO, 'deploy', 'prometheus', 'dynamicfs_alerts.yml');

interface RuleGroup { name: string; rules: { name: string; health: string; state?: string; lastError?: string }[] }

test('a Prometheus server scrapes a mounted pool, answers queries about it, and fires the shipped alerts', async () => {
  requireTool('prometheus');
  const port = await freePort();
  await withMount(async (m) => {
    fs.writeFileSync(path.join(m.mnt, 'x.bin'), randomBytes(5 << 20)); // 2 extents x 6 fragments
    const dir = tmpDir('dfs-prometheus-');
    let prom: PrometheusServer | undefined;
    try {
      prom = await startPrometheus(dir, [`127.0.0.1:${port}`], [RULES]);
      const p = prom;
      await eventually('the target to be up', 30_000, async () => {
        const r = await p.query('up{job="dynamicfs"}');
        return r[0]?.value[1] === '1' ? true : undefined;
      });
      const writes = await eventually('dynamicfs_fragment_writes_total in Prometheus', 30_000, async () => {
        const r = await p.query('sum(dynamicfs_fragment_writes_total{job="dynamicfs"})');
        return r.length === 1 && Number(r[0]!.value[1]) >= 12 ? Number(r[0]!.value[1]) : undefined;
      });
      const direct = parseExposition((await httpGet(`http://127.0.0.1:${port}/metrics`)).body);
      let own = 0;
      for (const [k, v] of direct) if (k.startsWith('dynamicfs_fragment_writes_total{')) own += v;
      assert.equal(writes, own, 'Prometheus holds what the endpoint serves');
      const perDisk = await p.query('dynamicfs_fragment_writes_total{job="dynamicfs"}');
      assert.deepEqual(perDisk.map((s) => s.metric.disk).sort(), ['1', '2', '3', '4', '5', '6']);
      const healthy = await p.query('dynamicfs_extents{state="healthy"}');
      assert.equal(healthy[0]?.value[1], '2');

      // Every shipped rule is loaded and evaluates cleanly against the real series.
      const groups = await eventually('the rules to be evaluated', 30_000, async () => {
        const j = JSON.parse((await httpGet(`${p.url}/api/v1/rules`)).body) as { data: { groups: RuleGroup[] } };
        const rules = j.data.groups.flatMap((g) => g.rules);
        return rules.length > 0 && rules.every((r) => r.health === 'ok') ? j.data.groups : undefined;
      });
      assert.deepEqual(groups.map((g) => g.name).sort(), ['dynamicfs-critical', 'dynamicfs-warning']);
      assert.ok(groups.flatMap((g) => g.rules).every((r) => r.state !== 'firing'), 'nothing fires for a healthy pool');

      // Three disks of six gone at rs:4+2: the data is unreadable, and the alert fires.
      for (const d of m.disks.slice(0, 3)) rmrf(d);
      const alert = await eventually('DynamicFSUnrecoverableExtents to fire', 30_000, async () => {
        const j = JSON.parse((await httpGet(`${p.url}/api/v1/alerts`)).body) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
        return j.data.alerts.find((a) => a.labels.alertname === 'DynamicFSUnrecoverableExtents' && a.state === 'firing');
      });
      assert.equal(alert.labels.severity, 'critical');
    } finally {
      await prom?.stop();
      rmrf(dir);
    }
    assert.ok(prom!.child.exitCode !== null || prom!.child.signalCode !== null, 'prometheus stopped');
  }, { extra: ['--metrics-port', String(port)] });
});
