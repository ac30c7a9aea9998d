/**
 * Small CLI-level helpers the issue-12 claim tests share: where an extent's fragments
 * are, the pool's rebuild job, a foreground rebuild killed by its crash point, waiting
 * for a condition, and the path of a fragment file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BIN, ok, type Json } from './cli';
import { sleep } from './daemon';

/** `dynamicfs rebuild POOL ...` in the foreground, killed by the crash point after its `n`th committed extent. */
export function rebuildKilledAfter(pool: string, n: number, ...extra: string[]): void {
  const r = spawnSync(process.execPath, [BIN, 'rebuild', pool, ...extra, '--json'], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, DYNAMICFS_CRASH_AT: `repair-after-commit:${n}` },
  });
  assert.equal(r.signal, 'SIGKILL', `the rebuild should have been killed after ${n} extents: ${r.stdout}${r.stderr}`);
}

export function extentsOf(pool: string, file: string): Json[] {
  return ok('stat', pool, file).extents as Json[];
}

/** How many of extent `e`'s fragments sit on the disks `ids`. */
export function onDisks(e: Json, ids: number[]): number {
  return (e.fragments as Json[]).filter((f) => ids.includes(f.diskId as number)).length;
}

/** The pool's only rebuild job (asserting there is exactly one). */
export function rebuildJob(pool: string): Json {
  const all = (ok('jobs', pool).jobs as Json[]).filter((j) => j.kind === 'rebuild');
  assert.equal(all.length, 1, JSON.stringify(all));
  return all[0]!;
}

/** Poll fn every 100 ms until it returns something truthy; fail after `ms`. */
export async function until<T>(what: string, fn: () => T | undefined | false, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The file of an orphan gc reports (`name` is `<extent>.<index>` under the disk's frags/ab/cd/). */
export function orphanFile(pool: string, o: Json): string {
  const disk = (ok('disks', pool).disks as Json[]).find((d) => d.id === o.diskId)!;
  const id = (o.name as string).split('.')[0]!;
  return path.join(disk.path as string, 'frags', id.slice(0, 2), id.slice(2, 4), o.name as string);
}

/** The file holding fragment `index` of extent `e` (as stat reports it) on the disk stat names. */
export function fragmentFile(e: Json, index: number): string {
  const f = (e.fragments as Json[]).find((x) => x.index === index)!;
  const id = e.id as string;
  return path.join(f.diskPath as string, 'frags', id.slice(0, 2), id.slice(2, 4), `${id}.${index}`);
}
