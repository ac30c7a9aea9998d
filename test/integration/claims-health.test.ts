/**
 * The default error thresholds (issue 12): 3 errors make a disk degraded, 10 suspect,
 * 50 failed. Checked at each boundary from one scrub over fragments corrupted on
 * purpose, through the CLI: 9 errors → degraded, 10 → suspect, 49 → suspect, 50 → failed.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { dfs, makePool, ok, type Json } from '../helpers/cli';
import { Rng } from '../helpers/random';
import { withTmpDir } from '../helpers/tmp';

const EXTENT = 65536;

/** Flip one payload byte of fragment `index` of extent `e` where stat says it lives. */
function corrupt(e: Json, diskId: number): void {
  const f = (e.fragments as Json[]).find((x) => x.diskId === diskId)!;
  const id = e.id as string;
  const file = path.join(f.diskPath as string, 'frags', id.slice(0, 2), id.slice(2, 4), `${id}.${f.index as number}`);
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, 4096 + 100);
    b[0] ^= 0xff;
    fs.writeSync(fd, b, 0, 1, 4096 + 100);
  } finally {
    fs.closeSync(fd);
  }
}

describe('default health thresholds', () => {
  it('config shows 3/10/50; a scrub counting 9, 10, 49 and 50 checksum errors leaves degraded, suspect, suspect, failed', async () => {
    await withTmpDir((root) => {
      const rng = new Rng();
      const { pool } = makePool(root, 4, '--redundancy', 'rs:2+2', '--extent-size', String(EXTENT));
      const cfg = ok('config', pool).health as Json;
      assert.deepEqual([cfg.degradedErrors, cfg.suspectErrors, cfg.failedErrors], [3, 10, 50]);
      const src = path.join(root, 'src');
      const data = rng.bytes(60 * EXTENT);
      fs.writeFileSync(src, data);
      ok('put', pool, src, '/f');
      const extents = ok('stat', pool, '/f').extents as Json[];
      assert.equal(extents.length, 60);
      const ids = (ok('disks', pool).disks as Json[]).map((d) => d.id as number);
      assert.equal(ids.length, 4);
      // Every extent has a fragment on each of the 4 disks; at most m = 2 corrupted per extent.
      const plan: [number, number, number][] = [[ids[0]!, 50, 59], [ids[1]!, 0, 10], [ids[2]!, 10, 59], [ids[3]!, 0, 50]];
      for (const [disk, from, to] of plan) for (let i = from; i < to; i++) corrupt(extents[i]!, disk);

      const r = dfs('scrub', pool);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.json?.error?.code, 'EFINDINGS');
      const byId = new Map((ok('disks', pool).disks as Json[]).map((d) => [d.id as number, d]));
      assert.deepEqual(ids.map((id) => [byId.get(id)!.checksumErrors, byId.get(id)!.state]),
        [[9, 'degraded'], [10, 'suspect'], [49, 'suspect'], [50, 'failed']]);
      for (const [id, to, limit] of [[ids[0]!, 'degraded', 3], [ids[1]!, 'suspect', 10], [ids[2]!, 'suspect', 10], [ids[3]!, 'failed', 50]] as const) {
        const ev = (ok('disk-events', pool, String(id)).events as Json[]).at(-1)!;
        assert.deepEqual([ev.to, ev.source], [to, 'errors'], JSON.stringify(ev));
        assert.match(ev.reason, new RegExp(`threshold for ${to} is ${limit}$`));
      }
    });
  });
});
