/**
 * Table-driven engine tests over fault-injecting disks (test/helpers/naughty-disk.ts):
 * placement, write retry, the reduced verdict of a failed write, degraded reads of
 * failing and silently corrupted fragments, repair, and gc's listing, each through the
 * admin operations the CLI runs. Pool: 4 disks, rs:2+1, 64 KiB extents, so each
 * 128 KiB file is 2 extents of 3 fragments and one disk is spare for retries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { adminOps } from '../../../src/admin/ops';
import { Engine } from '../../../src/engine/engine';
import { repairExtent } from '../../../src/engine/repair';
import { DfsError } from '../../../src/errors';
import { Pool } from '../../../src/pool/pool';
import { sqliteStore } from '../../../src/meta/sqlite/sqlite-store';
import type { MeteredStore } from '../../../src/pool/metered-store';
import { NaughtyDisk } from '../../helpers/naughty-disk';
import { withTmpDir } from '../../helpers/tmp';

const ES = 65536;
const DISKS = [1, 2, 3, 4];

interface Rig { engine: Engine; disk: (id: number) => NaughtyDisk; src: string; dir: string }

async function withRig(fn: (r: Rig) => Promise<void>): Promise<void> {
  await withTmpDir(async (dir) => {
    const pool = Pool.create(path.join(dir, 'pool'), sqliteStore, { extentSize: ES, policy: 'rs:2+1' });
    for (const i of DISKS) {
      fs.mkdirSync(path.join(dir, `d${i}`));
      pool.addDisk(path.join(dir, `d${i}`));
    }
    const engine = Engine.attach(pool);
    const naughty = new Map<number, NaughtyDisk>();
    for (const id of DISKS) {
      const n = new NaughtyDisk((pool.store(id) as MeteredStore).inner);
      naughty.set(id, n);
      pool.setStore(id, n);
    }
    const src = path.join(dir, 'src.bin');
    fs.writeFileSync(src, Buffer.from(Array.from({ length: 2 * ES }, (_, i) => (i * 31 + 7) & 0xff)));
    try {
      await fn({ engine, disk: (id) => naughty.get(id)!, src, dir });
    } finally {
      await engine.close();
    }
  });
}

function extents(engine: Engine, name: string) {
  return engine.meta.extentsOf(engine.meta.lookup(1, name)!);
}

async function readBack(r: Rig, name: string): Promise<Buffer> {
  const out = path.join(r.dir, `${name}.out`);
  await adminOps.get(r.engine, { path: `/${name}`, dest: out }, {});
  return fs.readFileSync(out);
}

const writeCases = [
  { name: 'a full disk gets no fragment, and ENOSPC is not counted against it', fault: { error: 'ENOSPC' }, always: true, writeErrors: 0, state: 'healthy' },
  { name: 'a full disk turning read-only is counted and made suspect', fault: { error: 'EROFS' }, always: false, writeErrors: 1, state: 'suspect' },
  { name: 'one EIO on a write is retried on another disk and counted once', fault: { error: 'EIO' }, always: false, writeErrors: 1, state: 'healthy' },
  { name: 'a vanished directory (ENOENT) is retried elsewhere and counted', fault: { error: 'ENOENT' }, always: false, writeErrors: 1, state: 'healthy' },
] as const;

for (const c of writeCases) {
  test(`write: ${c.name}`, async () => {
    await withRig(async (r) => {
      const bad = 2;
      if (c.always) r.disk(bad).every('write', c.fault);
      else r.disk(bad).next('write', c.fault);
      await adminOps.put(r.engine, { src: r.src, dest: '/f' }, {});
      const placed = extents(r.engine, 'f').flatMap((e) => e.fragments.map((f) => f.diskId));
      assert.equal(placed.length, 6);
      // Every refused write went elsewhere: the disk holds exactly the fragments it accepted.
      // (Each disk takes at least one of the 6 fragments: placement spreads by load and free space.)
      const refused = c.always ? r.disk(bad).calls.write : 1;
      assert.ok(r.disk(bad).calls.write >= 1);
      assert.equal(placed.filter((d) => d === bad).length, r.disk(bad).calls.write - refused);
      for (const e of extents(r.engine, 'f')) assert.equal(new Set(e.fragments.map((f) => f.diskId)).size, 3, 'fragments of one extent on distinct disks');
      const row = r.engine.pool.disk(bad)!;
      assert.equal(row.writeErrors, c.writeErrors);
      assert.equal(row.state, c.state);
      assert.ok((await readBack(r, 'f')).equals(fs.readFileSync(r.src)));
    });
  });
}

test('write: when no disk takes a fragment, the verdict carries every cause', async () => {
  await withRig(async (r) => {
    for (const id of DISKS) r.disk(id).every('write', { error: 'ENOSPC' });
    const err = await adminOps.put(r.engine, { src: r.src, dest: '/f' }, {}).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DfsError);
    assert.equal(err.code, 'ENOSPC');
    const causes = err.details!.causes as { index: number; disk: number | null; code: string }[];
    // Every disk was tried and refused; the fragments left without a disk to retry on say so.
    assert.deepEqual([...new Set(causes.filter((c) => c.disk !== null).map((c) => c.disk))].sort(), DISKS);
    assert.ok(causes.every((c) => c.code === 'ENOSPC' || (c.disk === null && c.code === 'ENODISKS') || (c.disk === null && c.code === 'ENOSPC')));
    assert.equal(err.details!.needed, 3);
    assert.match(err.message, /fragment \d on disk \d: ENOSPC/);
    assert.equal(r.engine.meta.lookup(1, 'f'), undefined, 'nothing committed');
  });
});

const readCases = [
  { name: 'a failing data fragment is read around (EIO)', fault: { error: 'EIO' } as const, counter: 'readErrors' as const, reason: /EIO/ },
  { name: 'a missing fragment file is read around (ENOENT)', fault: { error: 'ENOENT' } as const, counter: 'readErrors' as const, reason: /ENOENT/ },
];

for (const c of readCases) {
  test(`read: ${c.name}, counted and queued; a repair after the fault passed finds it whole`, async () => {
    await withRig(async (r) => {
      await adminOps.put(r.engine, { src: r.src, dest: '/f' }, {});
      const e0 = extents(r.engine, 'f')[0]!;
      const bad = e0.fragments.find((f) => f.index === 0)!.diskId; // data fragment 0 is always tried first
      r.disk(bad).every('read', c.fault);
      assert.ok((await readBack(r, 'f')).equals(fs.readFileSync(r.src)));
      assert.equal(r.engine.pool.disk(bad)![c.counter] > 0, true);
      const queued = r.engine.meta.repairQueue().filter((q) => q.extentId.equals(e0.id));
      assert.equal(queued.length, 1);
      assert.match(queued[0]!.reason, c.reason);
      r.disk(bad).heal();
      // The fault was transient (the files on disk are intact): repair verifies, rewrites nothing, dequeues.
      for (const q of r.engine.meta.repairQueue()) assert.deepEqual(await repairExtent(r.engine, q.extentId), { kind: 'healthy' });
      assert.equal(r.engine.meta.repairQueue().length, 0);
    });
  });
}

test('read: a fragment corrupted on its way to disk fails EDIGEST, is read around and rewritten', async () => {
  await withRig(async (r) => {
    // Data fragment 0 of each extent lands on disk with a flipped byte (silent corruption).
    for (const id of DISKS) r.disk(id).every('write', { flip: 100, index: 0 });
    await adminOps.put(r.engine, { src: r.src, dest: '/f' }, {});
    for (const id of DISKS) r.disk(id).heal(); // repairs write true bytes
    assert.ok((await readBack(r, 'f')).equals(fs.readFileSync(r.src)));
    const holders = extents(r.engine, 'f').map((e) => e.fragments.find((f) => f.index === 0)!.diskId);
    // A read tries data fragment 0 first: each corrupt one was met once, counted, and queued.
    for (const id of DISKS) assert.equal(r.engine.pool.disk(id)!.checksumErrors, holders.filter((h) => h === id).length);
    const queue = r.engine.meta.repairQueue();
    assert.equal(queue.length, 2);
    for (const q of queue) assert.match(q.reason, /fragment 0 on disk \d: EDIGEST/);
    for (const q of queue) {
      // Fragment 0 goes back onto its own (healthy) disk: rewritten in place.
      const holder = r.engine.meta.getExtent(q.extentId)!.fragments.find((f) => f.index === 0)!.diskId;
      assert.deepEqual(await repairExtent(r.engine, q.extentId), { kind: 'repaired', rewritten: 1, bytesWritten: ES / 2,
        targets: [{ index: 0, from: holder, to: holder, inPlace: true, why: `rewritten in place on disk ${holder} (healthy)` }] });
    }
    const scrub = await adminOps.scrub(r.engine, {}, {});
    assert.equal(scrub.fragments.bad, 0);
    assert.equal(scrub.clean, true);
    assert.ok((await readBack(r, 'f')).equals(fs.readFileSync(r.src)));
  });
});

test('a read slowed by a delay still returns the bytes; gc lists every disk through the store', async () => {
  await withRig(async (r) => {
    await adminOps.put(r.engine, { src: r.src, dest: '/f' }, {});
    for (const id of DISKS) r.disk(id).next('read', { delayMs: 20 });
    assert.ok((await readBack(r, 'f')).equals(fs.readFileSync(r.src)));
    await adminOps.gc(r.engine, { minAgeSeconds: 0 }, {});
    for (const id of DISKS) assert.equal(r.disk(id).calls.list, 1);
  });
});
