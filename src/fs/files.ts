/**
 * File contents over the engine: put a file's bytes as a new extent map and commit
 * it in ONE transaction (the file is wholly old or wholly new after any crash), and
 * get them back verified, in order, with bounded read-ahead.
 */
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { DfsError } from '../errors';
import type { DroppedExtent, Engine } from '../engine/engine';
import { crashPoint } from '../engine/crash-points';
import { readExtent } from '../engine/extent-reader';
import { writeExtent } from '../engine/extent-writer';
import { allocEncodeBuffer } from '../engine/work-pools';
import type { Extent } from '../meta/records';
import { formatPolicy, type Policy } from '../pool/policy';
import { lookupPath, prepareFile } from './namespace';
import { readTuning } from './read-tuning';
import { tierOf } from './tier-xattr';
import type { ByteSource } from './sources';

/** Extents in flight per file: enough to keep encoder and disks busy (8 measured ~5% over 4), bounded memory. */
const WRITE_DEPTH = 8;

export interface PutOptions {
  policy?: Policy;
  mode?: number;
  onProgress?: (bytes: number) => void;
}

export interface PutResult {
  ino: number;
  size: number;
  extents: number;
  replaced: boolean;
}

export async function putFile(engine: Engine, poolPath: string, source: ByteSource, opts: PutOptions = {}): Promise<PutResult> {
  const store = engine.meta;
  // Fail before writing a byte if the parent is missing or the name is a directory.
  const at = lookupPath(store, poolPath);
  if (at.inode?.kind === 'dir') throw new DfsError('EISDIR', `${poolPath} is a directory in the pool`, poolPath);
  // The tier policy of the file replaced, else the one it inherits from its directory (prepareFile copies it).
  const tier = at.inode ? tierOf(store, at.inode.ino) : at.parent ? tierOf(store, at.parent.ino) : undefined;
  const base = opts.policy ?? engine.pool.policy;
  const policy = tier ? { ...base, tier } : base;
  const { extentSize, inlineMax } = engine.pool.superblock;
  const mirror = policy.scheme === 'mirror';

  const pending: Promise<Extent>[] = [];
  let inFlight = 0;
  const waiters: (() => void)[] = [];
  const release = () => { inFlight--; waiters.shift()?.(); };
  let offset = 0;
  let checked = false;
  for (;;) {
    while (inFlight >= WRITE_DEPTH) await new Promise<void>((r) => waiters.push(r));
    const buf = allocEncodeBuffer(extentSize, policy.k, policy.m, mirror);
    const n = await source.read(buf, extentSize);
    if (n === 0) break;
    if (n > inlineMax && !checked) {
      engine.placement.check(policy);
      checked = true;
    }
    inFlight++;
    const p = writeExtent(engine, 0, offset, buf, n, policy).finally(release);
    p.catch(() => undefined); // observed below; keeps an early failure from being "unhandled"
    pending.push(p);
    offset += n;
    opts.onProgress?.(n);
    if (n < extentSize) break;
  }
  const settled = await Promise.allSettled(pending);
  const written = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.id] : []));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    engine.releaseExtents(written); // abandoned: orphans for gc
    throw (failed as PromiseRejectedResult).reason;
  }
  const extents = settled.map((s) => (s as PromiseFulfilledResult<Extent>).value);

  let committed: { ino: number; dropped: DroppedExtent[]; replaced: boolean };
  try {
    committed = store.transact((tx) => {
      const now = Date.now();
      const file = prepareFile(tx, store, poolPath, { now, mode: opts.mode, policy: opts.policy ? formatPolicy(opts.policy) : undefined });
      tx.putInode({ ...file.inode, size: offset });
      for (const e of extents) tx.putExtent({ ...e, ino: file.inode.ino });
      crashPoint('before-commit');
      return { ino: file.inode.ino, dropped: file.dropped, replaced: !file.created };
    });
  } finally {
    engine.releaseExtents(written);
  }
  const { ino, dropped, replaced } = committed;
  crashPoint('after-commit');
  await engine.removeFragments(dropped);
  return { ino, size: offset, extents: extents.length, replaced };
}

/**
 * Write a file's verified bytes to `sink` in order, the next read.aheadExtents extents
 * fetched meanwhile. Files written through the mount may be sparse: a gap between
 * extents, or past the last one up to the size, is zeros.
 */
export async function getFile(engine: Engine, ino: number, sink: Writable, onProgress?: (bytes: number) => void): Promise<number> {
  const inode = engine.meta.getInode(ino);
  if (!inode) throw new DfsError('ENOENT', `inode ${ino} does not exist`);
  if (inode.kind !== 'file') throw new DfsError('EISDIR', `inode ${ino} is not a regular file`);
  const extents = engine.meta.extentsOf(ino);
  let end = 0;
  for (const e of extents) {
    if (e.offset < end) throw new DfsError('EMETACORRUPT', `inode ${ino} has overlapping extents at offset ${e.offset}`);
    end = e.offset + e.length;
  }
  if (end > inode.size) throw new DfsError('EMETACORRUPT', `inode ${ino} records ${inode.size} bytes but its extents reach ${end}`);

  const ahead = readTuning(engine.meta).aheadExtents;
  // Only the extents in flight are held: one written out is let go.
  const reads = new Map<number, Promise<Buffer>>();
  const start = (i: number) => {
    if (i < extents.length && !reads.has(i)) {
      const r = readExtent(engine, extents[i]!);
      r.catch(() => undefined);
      reads.set(i, r);
    }
  };
  const emit = async (bytes: Buffer) => {
    if (!sink.write(bytes)) await once(sink, 'drain');
    onProgress?.(bytes.length);
  };
  let pos = 0;
  for (let i = 0; i < extents.length; i++) {
    for (let j = i; j <= i + ahead; j++) start(j);
    const e = extents[i]!;
    if (e.offset > pos) await emitZeros(emit, e.offset - pos);
    const bytes = await reads.get(i)!;
    reads.delete(i);
    engine.access.touch(e.pack ? e.pack.id : e.id);
    await emit(bytes);
    pos = e.offset + e.length;
  }
  if (inode.size > pos) await emitZeros(emit, inode.size - pos);
  return inode.size;
}

async function emitZeros(emit: (b: Buffer) => Promise<void>, n: number): Promise<void> {
  const chunk = Buffer.alloc(Math.min(n, 1 << 20));
  for (let left = n; left > 0; left -= chunk.length) await emit(left >= chunk.length ? chunk : chunk.subarray(0, left));
}
