/**
 * File contents over the engine: put a file's bytes as a new extent map and commit
 * it in ONE transaction (the file is wholly old or wholly new after any crash), and
 * get them back verified, in order, with bounded read-ahead.
 */
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { DfsError } from '../errors';
import type { Engine } from '../engine/engine';
import { crashPoint } from '../engine/crash-points';
import { readExtent } from '../engine/extent-reader';
import { writeExtent } from '../engine/extent-writer';
import { allocEncodeBuffer } from '../engine/work-pools';
import type { Extent } from '../meta/records';
import { ROOT_INO, type MetaStore } from '../meta/store';
import { formatPolicy, type Policy } from '../pool/policy';
import type { ByteSource } from './sources';

/** Extents in flight per file: enough to keep encoder and disks busy, bounded memory. */
const WRITE_DEPTH = 4;
const READ_AHEAD = 4;

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

/** Split "/a/b/c" into its parent directory's inode (which must exist) and "c". */
export function parentAndName(store: MetaStore, poolPath: string): { parent: number; name: string } {
  const parts = poolPath.split('/').filter((p) => p.length > 0);
  const name = parts.pop();
  if (!name) throw new DfsError('EINVAL', `"${poolPath}" names the pool root, not a file`);
  let ino = ROOT_INO;
  for (const p of parts) {
    const next = store.lookup(ino, p);
    if (next === undefined) throw new DfsError('ENOENT', `directory /${parts.join('/')} does not exist in the pool (create it with mkdir -p)`, poolPath);
    if (store.getInode(next)?.kind !== 'dir') throw new DfsError('ENOTDIR', `/${parts.join('/')} is not a directory`, poolPath);
    ino = next;
  }
  return { parent: ino, name };
}

export async function putFile(engine: Engine, poolPath: string, source: ByteSource, opts: PutOptions = {}): Promise<PutResult> {
  const store = engine.meta;
  parentAndName(store, poolPath); // fail before writing a byte if the parent is missing
  const policy = opts.policy ?? engine.pool.policy;
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
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const extents = settled.map((s) => (s as PromiseFulfilledResult<Extent>).value);

  const now = Date.now();
  const { ino, dropped, replaced } = store.transact((tx) => {
    const { parent, name } = parentAndName(store, poolPath);
    const existing = store.lookup(parent, name);
    let ino: number;
    let dropped: ReturnType<typeof tx.dropExtents> = [];
    if (existing !== undefined) {
      const old = store.getInode(existing)!;
      if (old.kind === 'dir') throw new DfsError('EISDIR', `${poolPath} is a directory in the pool`, poolPath);
      ino = existing;
      dropped = tx.dropExtents(ino);
    } else {
      ino = tx.allocIno();
      tx.link(parent, name, ino);
      const dir = store.getInode(parent)!;
      tx.putInode({ ...dir, mtimeMs: now, ctimeMs: now });
    }
    tx.putInode({ ino, kind: 'file', mode: opts.mode ?? 0o644, size: offset, nlink: 1, mtimeMs: now, ctimeMs: now,
      policy: opts.policy ? formatPolicy(opts.policy) : null });
    for (const e of extents) tx.putExtent({ ...e, ino });
    crashPoint('before-commit');
    return { ino, dropped, replaced: existing !== undefined };
  });
  crashPoint('after-commit');
  await engine.removeFragments(dropped);
  return { ino, size: offset, extents: extents.length, replaced };
}

/** Write a file's verified bytes to `sink` in order. */
export async function getFile(engine: Engine, ino: number, sink: Writable, onProgress?: (bytes: number) => void): Promise<number> {
  const inode = engine.meta.getInode(ino);
  if (!inode) throw new DfsError('ENOENT', `inode ${ino} does not exist`);
  if (inode.kind !== 'file') throw new DfsError('EISDIR', `inode ${ino} is a directory`);
  const extents = engine.meta.extentsOf(ino);
  let expected = 0;
  for (const e of extents) {
    if (e.offset !== expected) throw new DfsError('EMETACORRUPT', `inode ${ino} has a gap or overlap in its extent map at offset ${expected}`);
    expected += e.length;
  }
  if (expected !== inode.size) throw new DfsError('EMETACORRUPT', `inode ${ino} records ${inode.size} bytes but its extents hold ${expected}`);

  const reads: Promise<Buffer>[] = [];
  const start = (i: number) => {
    if (i < extents.length && !reads[i]) {
      reads[i] = readExtent(engine, extents[i]!);
      reads[i]!.catch(() => undefined);
    }
  };
  let written = 0;
  for (let i = 0; i < extents.length; i++) {
    for (let j = i; j < i + READ_AHEAD; j++) start(j);
    const bytes = await reads[i]!;
    if (!sink.write(bytes)) await once(sink, 'drain');
    written += bytes.length;
    onProgress?.(bytes.length);
  }
  return written;
}
