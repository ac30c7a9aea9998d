/** `events`' filters: times (ISO 8601 or durations back from now), kinds, limit; refusals name the option. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventQuery, parseTime, select } from '../../../src/admin/event-query';
import { DfsError } from '../../../src/errors';
import type { PoolEvent } from '../../../src/log/events';

const NOW = Date.parse('2026-12-04T12:00:00.000Z');

test('times: durations back from now and ISO 8601 forms', () => {
  assert.equal(parseTime('90s', '--since', NOW), NOW - 90_000);
  assert.equal(parseTime('30m', '--since', NOW), NOW - 1_800_000);
  assert.equal(parseTime('2h', '--since', NOW), NOW - 7_200_000);
  assert.equal(parseTime('7d', '--since', NOW), NOW - 7 * 86_400_000);
  assert.equal(parseTime('1w', '--since', NOW), NOW - 7 * 86_400_000);
  assert.equal(parseTime('1.5h', '--since', NOW), NOW - 5_400_000);
  assert.equal(parseTime('2026-12-04T10:00:00Z', '--since', NOW), Date.parse('2026-12-04T10:00:00Z'));
  assert.equal(parseTime('2026-12-04T10:00:00.250+01:00', '--since', NOW), Date.parse('2026-12-04T09:00:00.250Z'));
  assert.equal(parseTime('2026-12-04', '--since', NOW), Date.parse('2026-12-04T00:00:00Z'));
  assert.equal(parseTime('2026-12-04 10:00', '--since', NOW), new Date(2026, 11, 4, 10, 0).getTime(), 'no zone: local time');
  for (const bad of ['yesterday', '5x', '-2h', '2026-13-45', '12/04/2026', '']) {
    assert.throws(() => parseTime(bad, '--until', NOW), (e: DfsError) => e.code === 'EINVAL' && e.message.startsWith(`--until "${bad}" is neither`), bad);
  }
});

test('the query: kinds checked, limit a positive integer, since not after until', () => {
  assert.deepEqual([...eventQuery({ kinds: ['job,scrub', 'job'] }, NOW).kinds!], ['job', 'scrub']);
  assert.throws(() => eventQuery({ kinds: ['jobs'] }, NOW), (e: DfsError) => e.code === 'EINVAL' && /"jobs" is not an event kind; use one or more of disk, job, repair, heal, scrub, snapshot, tier, audit/.test(e.message));
  assert.throws(() => eventQuery({ kinds: [','] }, NOW), (e: DfsError) => e.code === 'EINVAL' && /--kind needs at least one/.test(e.message));
  for (const limit of [0, -1, 1.5]) assert.throws(() => eventQuery({ limit }, NOW), (e: DfsError) => e.code === 'EINVAL' && /^--limit/.test(e.message));
  assert.throws(() => eventQuery({ since: '1h', until: '2h' }, NOW), (e: DfsError) => e.code === 'EINVAL' && /is after --until/.test(e.message));
  assert.throws(() => eventQuery({ since: 5 as unknown as string }, NOW), (e: DfsError) => e.code === 'EINVAL');
});

test('select: the window inclusive, kinds, request id, time order with ties kept, the newest N', () => {
  const ev = (timeMs: number, kind: PoolEvent['kind'], reqId: string | null = null): PoolEvent => ({ timeMs, kind, subject: String(timeMs), message: kind, details: {}, reqId });
  const all = [ev(30, 'job', 'r'), ev(10, 'disk'), ev(20, 'audit', 'r'), ev(20, 'repair', 'r'), ev(40, 'scrub')];
  const pick = (args: Parameters<typeof eventQuery>[0]): string[] => select(all, eventQuery(args, 100)).events.map((e) => `${e.timeMs}${e.kind}`);
  assert.deepEqual(pick({}), ['10disk', '20audit', '20repair', '30job', '40scrub']);
  assert.deepEqual(pick({ since: '1970-01-01T00:00:00.020Z', until: '1970-01-01T00:00:00.030Z' }), ['20audit', '20repair', '30job']);
  assert.deepEqual(pick({ kinds: ['job', 'disk'] }), ['10disk', '30job']);
  assert.deepEqual(pick({ request: 'r' }), ['20audit', '20repair', '30job']);
  assert.deepEqual(pick({ limit: 2 }), ['30job', '40scrub']);
  assert.equal(select(all, eventQuery({ limit: 2 }, 100)).matched, 5);
});
