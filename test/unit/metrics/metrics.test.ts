/**
 * The Metrics registry: get-or-create instruments with Prometheus naming enforced,
 * scrape hooks that run before every scrape (one run shared by concurrent scrapes), and
 * one registry per engine (two engines never share figures).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../../src/metrics/metrics';
import { parseExposition } from '../../helpers/prometheus';

test('instruments are get-or-create, and names follow the conventions', async () => {
  const m = new Metrics();
  const c = m.counter('dynamicfs_test_bytes_total', 'bytes rebuilt', ['disk']);
  assert.equal(m.counter('dynamicfs_test_bytes_total', 'bytes rebuilt', ['disk']), c, 'same name, same counter');
  c.inc({ disk: '2' }, 4096);
  assert.equal(parseExposition(await m.text()).get('dynamicfs_test_bytes_total{disk="2"}'), 4096);
  assert.throws(() => m.counter('dynamicfs_rebuilds', 'x'), /ends with _total/);
  assert.throws(() => m.gauge('dynamicfs_queue_total', 'x'), /only counters/);
  assert.throws(() => m.gauge('rebuild_queue', 'x'), /dynamicfs_/);
  assert.throws(() => m.histogram('dynamicfs_fragment_reads_total', 'x'), /another type/);
  assert.equal(m.gauge('dynamicfs_rebuild_queue_length', 'x'), m.gauge('dynamicfs_rebuild_queue_length', 'x'));
});

test('scrape hooks set gauges before every scrape; concurrent scrapes share one run', async () => {
  const m = new Metrics();
  const g = m.gauge('dynamicfs_test_queue_length', 'test', []);
  let runs = 0;
  m.onScrape(async () => {
    runs++;
    await new Promise((r) => setTimeout(r, 20));
    g.set(runs);
  });
  const [a, b] = await Promise.all([m.text(), m.json()]);
  assert.equal(runs, 1);
  assert.equal(parseExposition(a).get('dynamicfs_test_queue_length'), 1);
  assert.equal(b.find((x) => x.name === 'dynamicfs_test_queue_length')?.values[0]?.value, 1);
  await m.text();
  assert.equal(runs, 2, 'each later scrape runs the hooks again');

  // A failing hook is counted; the scrape still answers.
  m.onScrape(() => { throw new Error('boom'); });
  assert.equal(parseExposition(await m.text()).get('dynamicfs_metrics_collect_errors_total'), 1);
});

test('each Metrics has its own registry', async () => {
  const a = new Metrics();
  const b = new Metrics();
  a.fragmentWrites.inc({ disk: '1' });
  assert.equal(parseExposition(await a.text()).get('dynamicfs_fragment_writes_total{disk="1"}'), 1);
  assert.equal(parseExposition(await b.text()).get('dynamicfs_fragment_writes_total{disk="1"}'), undefined);
});

test('process metrics are opt-in and pass the naming rules', async () => {
  const m = new Metrics();
  assert.ok(!(await m.text()).includes('process_cpu_seconds_total'));
  m.enableProcessMetrics();
  m.enableProcessMetrics();
  const text = await m.text();
  assert.ok(text.includes('process_cpu_seconds_total'));
  assert.ok(!/^# TYPE \S+_total gauge$/m.test(text), 'no gauge ends in _total');
});
