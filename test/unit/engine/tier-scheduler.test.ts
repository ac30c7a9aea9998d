/**
 * The tier migration schedule's decision (tier-scheduler.ts decideMigration), on a moved
 * clock: off at tier.migrateEvery 0; nothing in a pool of one tier (or none); nothing
 * while a migration is queued, running or paused; otherwise a look when none ran, or
 * `every` after the later of the last migration's end and the last look that found
 * nothing due.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobRow, JobState } from '../../../src/meta/records';
import { decideMigration } from '../../../src/engine/tier-scheduler';

const NOW = 1_000_000_000_000;
function job(id: number, state: JobState, finishedMs: number | null, kind = 'tier-migrate'): JobRow {
  return { id, kind, state, params: {}, progress: {}, error: null, createdMs: NOW - 100_000, updatedMs: NOW - 100_000, finishedMs };
}

test('off, one tier, an active migration: no look, no next look', () => {
  assert.deepEqual(decideMigration(0, 3, [], undefined, NOW), { look: false, nextLookMs: null, reason: 'tier.migrateEvery is 0: migrations start only by `tier migrate`' });
  assert.deepEqual(decideMigration(3600, 1, [], undefined, NOW), { look: false, nextLookMs: null, reason: 'the pool\'s disks are of one tier: nothing to move' });
  assert.deepEqual(decideMigration(3600, 0, [], undefined, NOW).look, false);
  for (const state of ['queued', 'running', 'paused'] as const) {
    assert.deepEqual(decideMigration(60, 2, [job(4, 'done', NOW - 3_600_000), job(7, state, null)], undefined, NOW),
      { look: false, nextLookMs: null, reason: `tier-migrate job 7 is ${state}` });
  }
});

test('a look at once when no migration ran; then every `every` after the last end or the last empty look, whichever is later', () => {
  assert.deepEqual(decideMigration(60, 2, [job(1, 'done', null, 'scrub')], undefined, NOW), { look: true, nextLookMs: NOW, reason: 'no migration has run yet' });
  const jobs = [job(3, 'done', NOW - 90_000), job(5, 'failed', NOW - 30_000), job(6, 'cancelled', null)];
  const d = decideMigration(60, 3, jobs, undefined, NOW);
  assert.deepEqual([d.look, d.nextLookMs], [false, NOW + 30_000], 'job 5 ended 30 s ago: the next look in 30 s');
  assert.match(d.reason, /job 5, failed at/);
  assert.equal(decideMigration(60, 3, jobs, undefined, NOW + 30_000).look, true);
  const e = decideMigration(60, 3, jobs, NOW - 10_000, NOW + 30_000);
  assert.deepEqual([e.look, e.nextLookMs], [false, NOW + 50_000], 'a look 10 s ago found nothing: the next one 60 s after it');
  assert.match(e.reason, /found nothing due/);
  assert.equal(decideMigration(60, 3, jobs, NOW - 10_000, NOW + 50_000).look, true);
});
