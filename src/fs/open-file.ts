/**
 * The contents of one file while the mount has it open: committed extents from the
 * metadata store, dirty extent buffers being written, and extents whose fragments are
 * already durable but not yet committed. One OpenFile per inode, shared by all its
 * handles, so every handle reads what any handle wrote.
 *
 * Extents sit at offsets that are multiples of the pool's extent size; an extent
 * shorter than that, and an extent that is missing, read as zeros (holes). A write
 * fills a dirty buffer of a whole extent (loaded from the old extent first); a buffer
 * the writer has filled to its end is encoded and written in the background at once,
 * so a long sequential write streams to the disks with bounded memory. commit() —
 * on flush, fsync and release — writes what is left and records every change to the
 * file in ONE metadata transaction: the file is wholly old or wholly new.
 */
import { DfsError } from '../errors';
import type { DroppedExtent, Engine } from '../engine/engine';
import { recycleBuffer } from '../engine/encode-buffers';
import { inlineExtent, writeExtent } from '../engine/extent-writer';
import { PACK_MAX_EXTENT, packedExtent } from '../engine/packer';
import { allocEncodeBuffer } from '../engine/work-pools';
import type { Extent, Inode } from '../meta/records';
import type { Policy } from '../pool/policy';
import type { ExtentCache } from './extent-cache';
import { ExtentReads, type ExtentSlots } from './extent-reads';
import { LogState } from './log-state';

/** Extents being encoded and written in the background per file before a writer waits. */
const WRITE_BEHIND = 8;

/** chmod, chown and utimens of an open file, held until its next commit (the data's own mtime is the file's mtimeMs). */
export type AttrChange = Partial<Pick<Inode, 'mode' | 'uid' | 'gid' | 'atimeMs' | 'mtimeMs'>>;

interface Dirty {
  buf: Uint8Array; // allocEncodeBuffer(extentSize): transferable to the encoder as is
  len: number; // bytes of the extent that hold data; the rest reads as zeros (and is not zeroed in buf)
}

export class OpenFile {
  /** Open handles on this inode. */
  refs = 0;
  /** What the intent log must still carry of this file (file-log.ts). */
  readonly log = new LogState();
  size: number;
  mtimeMs: number;
  /** A write or truncate changes ctime with mtime (POSIX), at the same instant. */
  ctimeMs: number;
  private readonly extentSize: number;
  private committed = new Map<number, Extent>();
  private dirty = new Map<number, Dirty>();
  private pending = new Map<number, Extent>();
  private inflight = new Map<number, Promise<void>>();
  /** Committed extents a truncate removed; dropped at the next commit. */
  private removed = new Set<number>();
  /** Written but superseded before commit: fragments to delete after the next commit. */
  private orphans: Extent[] = [];
  private changed = false;
  private failure: DfsError | undefined;
  private commitChain: Promise<unknown> = Promise.resolve();
  /** Attribute changes made while open (tar sets times, owner and mode before close): in the file's next commit, not a transaction each. */
  private attrs: AttrChange = {};
  /** Sequential readers and their read-ahead (extent-reads.ts). */
  private readonly reads: ExtentReads;
  /** What a read of extent i finds: a buffer being written (once the encoder gives it back), or the stored extent. */
  private readonly slots: ExtentSlots = {
    bytes: async (i) => {
      // Its buffer went to the encoder: the bytes are back once the extent is written.
      const busy = this.inflight.get(i);
      if (busy) {
        await busy;
        this.throwIfFailed();
      }
      const d = this.dirty.get(i);
      if (d) return { src: d.buf, valid: d.len };
      const e = this.stored(i);
      return e && { src: await this.cache.get(e), valid: e.length };
    },
    ahead: (i) => (this.dirty.has(i) ? undefined : this.stored(i)),
  };
  /**
   * Told of each metadata transaction this file's commit makes, right after it: whether
   * the intent log holds all it records (every byte written logged, no attribute change).
   */
  onTransaction: ((logged: boolean) => void) | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly cache: ExtentCache,
    readonly ino: number,
    inode: Inode,
    private readonly policy: () => Policy,
  ) {
    this.extentSize = engine.pool.superblock.extentSize;
    this.reads = new ExtentReads(cache, this.extentSize);
    this.size = inode.size;
    this.mtimeMs = inode.mtimeMs;
    this.ctimeMs = inode.ctimeMs;
    for (const e of engine.meta.extentsOf(ino)) this.committed.set(Math.floor(e.offset / this.extentSize), e);
  }

  /** True when nothing is waiting to be committed. */
  get clean(): boolean {
    return !this.changed && this.dirty.size === 0 && this.pending.size === 0 && this.inflight.size === 0;
  }

  /** Attribute changes wait for the next commit (its one transaction), so an fsync cannot go through the intent log meanwhile. */
  get attrsPending(): boolean {
    return Object.keys(this.attrs).length > 0;
  }

  /** chmod, chown or utimens of the open file: seen at once (overlay), stored with its next commit (flush, fsync, close). */
  setAttrs(change: AttrChange, ctimeMs: number): void {
    Object.assign(this.attrs, change);
    this.ctimeMs = Math.max(this.ctimeMs, ctimeMs);
    this.changed = true;
  }

  /** A chmod or chown that changes nothing but ctime (SQLite, as root, chowns each new journal to its database's owner): no attribute waits. */
  touch(ctimeMs: number): void {
    this.ctimeMs = Math.max(this.ctimeMs, ctimeMs);
    this.changed = true;
  }

  /**
   * Store the pending attribute changes alone, now (a group commit takes them; the data
   * waits for the file's own commit). Synchronous, so it never falls between a commit's
   * snapshot of the changes and its transaction, and never waits behind a held commit.
   */
  commitAttrs(): void {
    if (!this.attrsPending) return;
    const attrs = { ...this.attrs };
    const store = this.engine.meta;
    store.transact((tx) => {
      const inode = store.getInode(this.ino);
      if (inode) tx.putInode({ ...inode, ...attrs, ctimeMs: Math.max(inode.ctimeMs, this.ctimeMs) });
    });
    this.attrs = {};
  }

  /** The inode as this file will commit it: the store's with the pending attribute changes over it. */
  overlay(i: Inode): Inode {
    return this.attrsPending ? { ...i, ...this.attrs } : i;
  }

  /** The extent currently holding index i's bytes (uncommitted first), or undefined for a hole. */
  private stored(i: number): Extent | undefined {
    return this.pending.get(i) ?? (this.removed.has(i) ? undefined : this.committed.get(i));
  }

  /** Read up to into.length bytes at pos into `into`; returns the count (0 at EOF). */
  read(pos: number, into: Buffer): Promise<number> {
    return this.reads.read(this.slots, this.size, pos, into);
  }

  /** Write data at pos; resolves when it is buffered (or, past the write-behind limit, when there is room). */
  async write(pos: number, data: Buffer): Promise<number> {
    this.throwIfFailed();
    const ES = this.extentSize;
    let off = 0;
    while (off < data.length) {
      const p = pos + off;
      const i = Math.floor(p / ES);
      const within = p - i * ES;
      const n = Math.min(data.length - off, ES - within);
      const d = await this.dirtyExtent(i);
      if (within > d.len) d.buf.fill(0, d.len, within); // a gap reads as zeros; the buffer may be recycled
      d.buf.set(data.subarray(off, off + n), within);
      d.len = Math.max(d.len, within + n);
      off += n;
      if (within + n === ES) await this.writeBehind(i);
    }
    this.size = Math.max(this.size, pos + data.length);
    this.mtimeMs = this.ctimeMs = Date.now();
    this.changed = true;
    this.log.wrote(pos, data.length);
    return data.length;
  }

  /** Set the size: shrinking drops and cuts extents, growing leaves a hole that reads as zeros. */
  async truncate(size: number): Promise<void> {
    this.throwIfFailed();
    await this.settle();
    const ES = this.extentSize;
    if (size < this.size) {
      const keep = Math.ceil(size / ES); // extents [0, keep) keep some bytes
      for (const i of [...this.dirty.keys()]) if (i >= keep) this.dirty.delete(i);
      for (const [i, e] of [...this.pending]) if (i >= keep) { this.orphans.push(e); this.pending.delete(i); }
      for (const i of this.committed.keys()) if (i >= keep) this.removed.add(i);
      if (size % ES !== 0) {
        const i = keep - 1;
        const d = await this.dirtyExtent(i);
        const cut = size - i * ES;
        if (d.len > cut) {
          d.buf.fill(0, cut, d.len);
          d.len = cut;
        }
      }
    }
    this.size = size;
    this.mtimeMs = this.ctimeMs = Date.now();
    this.changed = true;
    this.log.truncated(size);
  }

  /**
   * Make everything written so far part of the file: write the remaining dirty
   * extents, then one transaction for the new extent map, size and mtime. When it
   * resolves, data and metadata are durable. Commits of one file run one at a time.
   */
  commit(): Promise<void> {
    const run = this.commitChain.then(() => this.log.capture(() => this.commitNow()));
    this.commitChain = run.catch(() => undefined);
    return run;
  }

  private async commitNow(): Promise<void> {
    // In a transaction group, small extents are packed (below) instead of getting fragments of their own,
    // unless the pool has not enabled packs (a format-1 pool until `upgrade`).
    const packing = this.engine.txg.enabled && this.engine.pool.usesFeature('packed-extents');
    for (const i of [...this.dirty.keys()]) if (!(packing && this.packable(i))) this.startWrite(i);
    await this.settle();
    this.throwIfFailed();
    if (packing) {
      // Only an extent going into a pack waits out a running commit; inline ones need no pack.
      if (this.willPack()) {
        await this.engine.packs.room();
        await this.engine.txg.packable();
      }
      // No await from here to the transaction: the packed bytes and their extents join one group.
      this.packDirty();
    }
    if (!this.changed && this.pending.size === 0 && this.removed.size === 0) return;
    const store = this.engine.meta;
    const pending = new Map(this.pending);
    const removed = new Set(this.removed);
    const size = this.size;
    const mtimeMs = this.mtimeMs;
    const ctimeMs = this.ctimeMs;
    const attrs = { ...this.attrs };
    const dropped: DroppedExtent[] = this.orphans.map((e) => ({ extentId: e.id, fragments: e.fragments }));
    store.transact((tx) => {
      const inode = store.getInode(this.ino);
      if (!inode) throw new DfsError('ENOENT', `inode ${this.ino} vanished while open`);
      for (const i of new Set([...pending.keys(), ...removed])) {
        const old = this.committed.get(i);
        if (old) dropped.push(...tx.dropExtent(old.id));
        const fresh = pending.get(i);
        if (fresh) tx.putExtent({ ...fresh, ino: this.ino });
      }
      tx.putInode({ ...inode, ...attrs, size, mtimeMs, ctimeMs: Math.max(inode.ctimeMs, ctimeMs) });
    });
    this.onTransaction?.(this.log.allLogged && Object.keys(attrs).length === 0);
    for (const i of removed) this.committed.delete(i);
    for (const [i, e] of pending) {
      this.committed.set(i, { ...e, ino: this.ino });
      if (this.pending.get(i) === e) this.pending.delete(i);
    }
    for (const i of removed) this.removed.delete(i);
    this.engine.releaseExtents([...pending.values()].map((e) => e.id));
    this.engine.releaseExtents(this.orphans.map((e) => e.id));
    this.orphans = [];
    this.attrs = {}; // taken by the transaction (synchronous since the snapshot above)
    if (this.size === size && this.mtimeMs === mtimeMs && this.dirty.size === 0 && this.pending.size === 0) this.changed = false;
    await this.engine.removeFragments(dropped);
  }

  /** All fragments this file holds outside committed metadata (for dropping an unlinked file). */
  uncommittedExtents(): Extent[] {
    return [...this.pending.values(), ...this.orphans];
  }

  /** A dirty extent small enough to share a pack (an empty one becomes a hole instead). */
  private packable(i: number): boolean {
    const d = this.dirty.get(i);
    return !!d && d.len > 0 && d.len <= PACK_MAX_EXTENT;
  }

  private willPack(): boolean {
    const inlineMax = this.engine.pool.superblock.inlineMax;
    return [...this.dirty.keys()].some((i) => this.packable(i) && this.dirty.get(i)!.len > inlineMax);
  }

  /** Small dirty extents become inline or packed extents now, synchronously (see commitNow). */
  private packDirty(): void {
    const inlineMax = this.engine.pool.superblock.inlineMax;
    for (const [i, d] of [...this.dirty]) {
      if (!this.packable(i) || this.inflight.has(i)) continue;
      this.dirty.delete(i);
      const bytes = d.buf.subarray(0, d.len);
      const e = d.len <= inlineMax ? inlineExtent(this.ino, i * this.extentSize, bytes)
        : packedExtent(this.ino, i * this.extentSize, bytes, this.engine.packs.append(bytes, this.policy()));
      recycleBuffer(d.buf); // both copied the bytes
      const old = this.pending.get(i);
      if (old) this.orphans.push(old);
      this.pending.set(i, e);
      this.removed.delete(i);
    }
  }

  private async dirtyExtent(i: number): Promise<Dirty> {
    const busy = this.inflight.get(i);
    if (busy) await busy; // the buffer went to the encoder; start again from what it wrote
    let d = this.dirty.get(i);
    if (d) return d;
    const policy = this.policy();
    d = { buf: allocEncodeBuffer(this.extentSize, policy.k, policy.m, policy.scheme === 'mirror'), len: 0 };
    const base = this.stored(i);
    if (base) {
      const bytes = await this.cache.get(base);
      const again = this.dirty.get(i); // another write may have made it while we read
      if (again) return again;
      d.buf.set(bytes.subarray(0, base.length));
      d.len = base.length;
    }
    this.dirty.set(i, d);
    return d;
  }

  /** A filled extent goes to the encoder now; the writer waits only if too many are in flight. */
  private async writeBehind(i: number): Promise<void> {
    await this.engine.txg.throttle(); // past the dirty bound, writers wait for the group to commit
    this.startWrite(i);
    while (this.inflight.size > WRITE_BEHIND) await Promise.race(this.inflight.values());
  }

  private startWrite(i: number): void {
    const d = this.dirty.get(i);
    if (!d || this.inflight.has(i)) return;
    this.dirty.delete(i);
    const job = (async () => {
      if (d.len === 0) {
        // Nothing left in this extent (truncated to its start): it becomes a hole.
        const old = this.pending.get(i);
        if (old) this.orphans.push(old);
        this.pending.delete(i);
        if (this.committed.has(i)) this.removed.add(i);
        return;
      }
      const e = await writeExtent(this.engine, this.ino, i * this.extentSize, d.buf, d.len, this.policy());
      const old = this.pending.get(i);
      if (old) this.orphans.push(old);
      this.pending.set(i, e);
      this.removed.delete(i);
    })().catch((err: unknown) => {
      this.failure ??= err instanceof DfsError ? err : new DfsError('EIO', String(err));
    }).finally(() => this.inflight.delete(i));
    this.inflight.set(i, job);
  }

  private async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight.values());
  }

  private throwIfFailed(): void {
    if (this.failure) throw new DfsError('EIO', `writing inode ${this.ino} failed: ${this.failure.message}`);
  }
}
