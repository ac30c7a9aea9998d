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
import type { Engine } from '../../../src/engine/engine';
import { repairExtent } from '../../../src/engine/repair';
import { DfsError } from '../../../src/errors';
import { LocalDisk } from '../../../src/pool/local-disk';
import { blake3 } from '../../../src/native';
import { NaughtyDisk } from '../../helpers/naughty-disk';
import { dirPool } from '../../helpers/dir-pool';
import { withTmpDir } from '../../helpers/tmp';

const ES = 65536;
const DISKS = [1, 2, 3, 4];

interface Rig { engine: Engine; disk: (id: number) => NaughtyDisk; src: string; dir: string }

async function withRig(fn: (r: Rig) => Promise<void>): Promise<void> {
  await withTmpDir(async (dir) => {
    const { pool, engine } = dirPool(dir, DISKS, { extentSize: ES, policy: 'rs:2+1' });
    const naughty = new Map<number, NaughtyDisk>();
    for (const id of DISKS) {
      const n = new NaughtyDisk(new LocalDisk(id, path.join(dir, `d${id}`)));
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

// ---- scrub, gc, probe and the monitor go through the store too ----

test('scrub reads every fragment through the store as background I/O and catches a disk that flipped a byte', async () => {
  await withRig(async (r) => {
    const bad = 3;
    r.disk(bad).every('write', { flip: 17 });
    await adminOps.put(r.engine, { src: r.src, dest: '/f' }, {});
    r.disk(bad).heal();
    const holders = extents(r.engine, 'f').flatMap((e) => e.fragments.map((f) => f.diskId));
    const onBad = holders.filter((h) => h === bad).length;
    assert.ok(onBad >= 1, 'the flipping disk holds a fragment');
    const foreground = r.engine.foreground.lastMs;
    const report = await adminOps.scrub(r.engine, {}, {});
    assert.equal(report.fragments.checked, 6);
    assert.equal(report.fragments.bad, onBad);
    assert.deepEqual(report.perDisk.map((d) => [d.diskId, d.counts]), [[bad, { EDIGEST: onBad }]]);
    for (const id of DISKS) {
      const held = holders.filter((h) => h === id).length;
      assert.equal(r.disk(id).backgroundReads, held, `disk ${id}: every fragment read by the scrub went through its store`);
      assert.equal(r.disk(id).calls.read, held);
    }
    // The scrub's own reads are not foreground activity it should yield to.
    assert.equal(r.engine.foreground.lastMs, foreground);
    assert.equal(r.engine.pool.disk(bad)!.checksumErrors, onBad);
  });
});

test('scrub through a store whose reads fail with EIO reports EIO on that disk', async () => {
  await withRig(async (r) => {
    await adminOps.put(r.engine, { src: r.src, dest: '/f' }, {});
    const bad = extents(r.engine, 'f')[0]!.fragments[1]!.diskId;
    const onBad = extents(r.engine, 'f').flatMap((e) => e.fragments).filter((f) => f.diskId === bad).length;
    r.disk(bad).every('read', { error: 'EIO' });
    const report = await adminOps.scrub(r.engine, { dryRun: true }, {});
    assert.deepEqual(report.perDisk.map((d) => [d.diskId, d.counts]), [[bad, { EIO: onBad }]]);
  });
});

test('gc removes orphans through the store: a delete that fails is reported, and the next run takes it', async () => {
  await withRig(async (r) => {
    const orphan = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
    const payload = Buffer.alloc(4096, 9);
    await r.disk(3).write({ poolUuid: Buffer.alloc(16), extentId: orphan, index: 2, k: 2, m: 1, scheme: 0, payloadHash: blake3(payload) }, payload);
    r.disk(3).every('remove', { error: 'EIO' });
    const first = await adminOps.gc(r.engine, { minAgeSeconds: 0 }, {});
    assert.deepEqual(first.orphans.map((o) => [o.diskId, o.name, o.kind]), [[3, `${orphan.toString('hex')}.2`, 'fragment']]);
    assert.equal(first.removed, 0);
    assert.deepEqual(first.failed, [{ diskId: 3, name: `${orphan.toString('hex')}.2`, code: 'EIO' }]);
    assert.equal(r.disk(3).calls.remove, 1);
    for (const id of DISKS) assert.equal(r.disk(id).calls.listTmp, 1);
    r.disk(3).heal();
    const second = await adminOps.gc(r.engine, { minAgeSeconds: 0 }, {});
    assert.equal(second.removed, 1);
    assert.deepEqual(second.failed, []);
    assert.equal(await r.disk(3).has(orphan, 2), false);
  });
});

const probeCases = [
  { name: 'a probe failing with EIO fails the disk', op: 'probe', error: 'EIO', state: 'failed', label: 'ok', problem: /probe write\/read failed: EIO/ },
  { name: 'a probe failing with EROFS makes the disk suspect', op: 'probe', error: 'EROFS', state: 'suspect', label: 'ok', problem: /probe write\/read failed: EROFS/ },
  { name: 'a label that cannot be read fails the disk', op: 'label', error: 'EIO', state: 'failed', label: 'unreadable', problem: /cannot be read/ },
] as const;

for (const c of probeCases) {
  test(`probe-disks: ${c.name}`, async () => {
    await withRig(async (r) => {
      r.disk(2).next(c.op, { error: c.error });
      const { disks } = await adminOps['probe-disks'](r.engine, {}, {});
      assert.deepEqual(disks.map((d) => [d.id, d.label, d.state]), DISKS.map((id) => [id, id === 2 ? c.label : 'ok', id === 2 ? c.state : 'healthy']));
      assert.match(disks[1]!.problem!, c.problem);
      for (const id of DISKS) assert.equal(r.disk(id).calls.label, 1);
      for (const id of DISKS) assert.equal(r.disk(id).calls.probe, c.op === 'label' && id === 2 ? 0 : 1);
      assert.equal(r.engine.meta.diskEvents(2).at(-1)!.source, 'probe');
    });
  });
}

test('the monitor check reads each label through the store: an unreadable one fails the disk', async () => {
  await withRig(async (r) => {
    r.disk(4).next('label', { error: 'EIO' });
    const moved = await r.engine.health.check();
    assert.deepEqual(moved.map((t) => [t.diskId, t.from, t.to, t.source]), [[4, 'healthy', 'failed', 'monitor']]);
    for (const id of DISKS) assert.equal(r.disk(id).calls.label, 1);
    for (const id of DISKS) assert.equal(r.disk(id).calls.space, id === 4 ? 0 : 1);
  });
});

test('a read that meets ENOENT asks the disk for its label once: present, it is a missing fragment, not a vanished disk', async () => {
  await withRig(async (r) => {
    await adminOps.put(r.engine, { src: r.src, dest: '/f' }, {});
    const f0 = extents(r.engine, 'f')[0]!.fragments[0]!;
    r.disk(f0.diskId).next('read', { error: 'ENOENT' });
    assert.ok((await readBack(r, 'f')).equals(fs.readFileSync(r.src)));
    assert.equal(r.disk(f0.diskId).calls.label, 1);
    assert.equal(r.engine.health.present(f0.diskId), true);
    assert.equal(r.engine.pool.disk(f0.diskId)!.state, 'healthy');
    assert.equal(r.engine.pool.disk(f0.diskId)!.readErrors, 1);
  });
});

test('transaction groups: writes skip their syncs, a failed disk sync fails the commit and keeps the group, the next commit makes it durable', async () => {
  await withRig(async (r) => {
    const { engine } = r;
    engine.txg.start();
    const generation = engine.meta.generation();
    await adminOps.put(engine, { src: r.src, dest: '/f' }, {});
    // In the open group: visible to this engine, written without syncs, not committed.
    assert.equal(extents(engine, 'f').length, 2);
    assert.equal(engine.meta.generation(), generation);
    assert.equal(engine.meta.groupPending(), true);
    const written = DISKS.filter((id) => r.disk(id).calls.write > 0);
    assert.deepEqual(DISKS.map((id) => r.disk(id).calls.sync), [0, 0, 0, 0]);

    r.disk(written[0]!).next('sync', { error: 'EIO' });
    await assert.rejects(engine.txg.commit('fsync'), (e: unknown) => e instanceof DfsError && e.code === 'EIO');
    assert.equal(engine.meta.groupPending(), true, 'the group stays open');
    assert.equal(engine.meta.generation(), generation);
    const text = await engine.metrics.text();
    assert.match(text, /^dynamicfs_txg_commit_failures_total\{code="EIO"\} 1$/m);

    const c = await engine.txg.commit('fsync');
    assert.deepEqual([c.generation, c.disksSynced], [generation + 1, written.length]);
    assert.equal(engine.meta.groupPending(), false);
    // Each disk written was synced once per commit attempt (the failed one and the good one).
    assert.deepEqual(DISKS.map((id) => r.disk(id).calls.sync), DISKS.map((id) => (written.includes(id) ? 2 : 0)));
    assert.deepEqual(await readBack(r, 'f'), fs.readFileSync(r.src));
  });
});
