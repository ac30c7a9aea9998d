/**
 * The record types the metadata store holds (whatever the backend), and the checksum of
 * every record kind. A checksum is the BLAKE3 of a msgpack array of the record's fields in
 * a fixed order, prefixed by the record type, so the same record always hashes the same
 * and no two types collide.
 */
import { Packr } from 'msgpackr';
import { blake3 } from '../native';

export type InodeKind = 'file' | 'dir' | 'symlink' | SpecialKind;

/** Nodes the kernel serves itself (mknod, mkfifo, bind): only their inode is stored. */
export type SpecialKind = 'fifo' | 'socket' | 'chardev' | 'blockdev';
export const SPECIAL_KINDS: readonly SpecialKind[] = ['fifo', 'socket', 'chardev', 'blockdev'];

export interface Inode {
  ino: number;
  kind: InodeKind;
  /** Permission bits (and setuid/setgid/sticky); the type is `kind`. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Directory entries naming the inode; 0 means unlinked (kept only while open). */
  nlink: number;
  /** Times in epoch ms; a fraction keeps them to the microsecond (utimensat's times). */
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  /** Redundancy policy for new extents ("rs:4+2"); null: the pool default. */
  policy: string | null;
  /** A symlink's target; null for other kinds. */
  target: string | null;
  /** A device node's device number (st_rdev); 0 for other kinds. */
  rdev: number;
}

/** 'packed': the bytes sit in a range of a shared pack extent (small files, see PackRef). */
export type ExtentScheme = 'rs' | 'mirror' | 'inline' | 'packed';

/** Packs are extents of this reserved inode; their offset is a sequence number, not a file offset. */
export const PACK_INO = 0;

/** Where a packed extent's bytes are: `length` bytes at `offset` of the pack extent `id`. */
export interface PackRef {
  id: Buffer;
  offset: number;
}

export interface FragmentRef {
  index: number;
  diskId: number;
  /** BLAKE3 of the fragment payload. */
  hash: Buffer;
}

export interface Extent {
  id: Buffer; // 16 bytes
  ino: number;
  offset: number;
  length: number;
  scheme: ExtentScheme;
  k: number;
  m: number;
  /** Payload bytes per fragment (the data is zero-padded to k * fragLen). */
  fragLen: number;
  /** BLAKE3 of the extent's logical bytes, checked after every decode. */
  logicalHash: Buffer;
  inlineData: Buffer | null;
  fragments: FragmentRef[];
  /** Set for scheme 'packed' only (which has no fragments of its own). */
  pack?: PackRef;
  /**
   * The generation whose commit ended this extent in its file (overwritten, truncated,
   * deleted) while a snapshot still sees it; absent (or null) while it is the file's.
   * Not part of the record's checksum: the store reads it from the row beside it.
   */
  died?: number | null;
}

/** Inline and packed extents have no fragments of their own (their bytes are in the record, or in a pack). */
export function ownsFragments(e: Pick<Extent, 'scheme'>): boolean {
  return e.scheme === 'rs' || e.scheme === 'mirror';
}

const packr = new Packr({ useRecords: false, variableMapSize: true });

export function inodeChecksum(i: Inode): Buffer {
  const fields = [i.ino, i.kind, i.mode, i.uid, i.gid, i.size, i.nlink, i.atimeMs, i.mtimeMs, i.ctimeMs, i.policy, i.target];
  // Format 3 added rdev; inodes without one keep their format-1 encoding, so old rows verify unchanged.
  return blake3(packr.pack(i.rdev ? ['inode/3', ...fields, i.rdev] : ['inode/1', ...fields]));
}

export function extentChecksum(e: Extent): Buffer {
  // Format 4 added packed extents; every other kind keeps its extent/1 encoding.
  if (e.scheme === 'packed') {
    return blake3(packr.pack(['extent/2', e.id, e.ino, e.offset, e.length, e.scheme, e.pack?.id ?? null, e.pack?.offset ?? null, e.logicalHash]));
  }
  const frags = [...e.fragments].sort((a, b) => a.index - b.index).map((f) => [f.index, f.diskId, f.hash]);
  return blake3(packr.pack(['extent/1', e.id, e.ino, e.offset, e.length, e.scheme, e.k, e.m, e.fragLen,
    e.logicalHash, e.inlineData, frags]));
}

export function xattrChecksum(ino: number, name: string, value: Buffer): Buffer {
  return blake3(packr.pack(['xattr/1', ino, name, value]));
}

export function direntChecksum(parent: number, name: string, ino: number): Buffer {
  return blake3(packr.pack(['dirent/1', parent, name, ino]));
}

export function diskChecksum(d: DiskRow): Buffer {
  return blake3(packr.pack(['disk/1', d.id, d.uuid, d.path, d.tier, d.state, d.addedMs, d.readErrors, d.checksumErrors, d.writeErrors]));
}

export function diskEventChecksum(e: DiskEvent): Buffer {
  const fields = [e.id, e.diskId, e.atMs, e.from, e.to, e.source, e.reason];
  // Schema 6 added the request id; events without one keep their event/1 encoding, so old rows verify unchanged.
  return blake3(packr.pack(e.reqId !== null ? ['event/2', ...fields, e.reqId] : ['event/1', ...fields]));
}

/** Over the JSON text as stored (params, progress), not the parsed objects: the stored bytes are what is checked. */
export function jobChecksum(j: StoredJob): Buffer {
  return blake3(packr.pack(['job/1', j.id, j.kind, j.state, j.params, j.progress, j.error, j.createdMs, j.updatedMs, j.finishedMs]));
}

export function repairChecksum(r: RepairEntry): Buffer {
  return blake3(packr.pack(['repair/1', r.extentId, r.reason, r.queuedMs]));
}

export function verifiedChecksum(extentId: Buffer, atMs: number): Buffer {
  return blake3(packr.pack(['verified/1', extentId, atMs]));
}

/** A snapshot: a name for the pool's namespace as of generation `gen` (the last one committed when it was taken). */
export interface Snapshot {
  id: number;
  name: string;
  gen: number;
  createdMs: number;
  /** A held snapshot cannot be deleted (`snapshot hold`/`release`). */
  held: boolean;
  /**
   * 16 bytes naming the tree this snapshot holds wherever it is: random when taken, the
   * sender's when received (schema 8), so an incremental stream finds its base by it.
   */
  guid: Buffer;
  /** Where that tree is in this pool: '/' for a snapshot taken here, the destination for a received one. */
  root: string;
}

export function snapshotChecksum(s: Snapshot): Buffer {
  return blake3(packr.pack(['snapshot/2', s.id, s.name, s.gen, s.createdMs, s.held, s.guid, s.root]));
}

/** A schema-7 row's checksum (no guid, no root): what the upgrade verifies before it rewrites the row. */
export function snapshotChecksumV1(s: Omit<Snapshot, 'guid' | 'root'>): Buffer {
  return blake3(packr.pack(['snapshot/1', s.id, s.name, s.gen, s.createdMs, s.held]));
}

/**
 * The guid of a snapshot recorded without one (taken before schema 8, or by a replayed
 * older log record): derived from the row, so a store and a copy of it upgraded later agree.
 */
export function derivedSnapshotGuid(id: number, name: string, gen: number, createdMs: number): Buffer {
  return blake3(packr.pack(['snapshot-guid/1', id, name, gen, createdMs])).subarray(0, 16);
}

/**
 * A row version kept for snapshots (snap_inodes, snap_dirents, snap_xattrs): the live
 * record's own checksum, bound to the generations it lived in (born ≤ g < died).
 */
export function versionChecksum(kind: 'inode' | 'dirent' | 'xattr', born: number, died: number, recordChecksum: Buffer): Buffer {
  return blake3(packr.pack(['version/1', kind, born, died, recordChecksum]));
}

/** A `meta` value (an integer counter, or a setting's JSON text) as the store holds it. */
export function metaChecksum(key: string, value: number | string): Buffer {
  return blake3(packr.pack(['meta/1', key, value]));
}

/** A fresh inode's fields with sane defaults (owner root, times now). */
export function newInode(ino: number, kind: InodeKind, mode: number, now: number, extra: Partial<Inode> = {}): Inode {
  return { ino, kind, mode, uid: 0, gid: 0, size: 0, nlink: kind === 'dir' ? 2 : 1, atimeMs: now, mtimeMs: now, ctimeMs: now,
    policy: null, target: null, rdev: 0, ...extra };
}

/** A directory entry. */
export interface Dirent {
  name: string;
  ino: number;
}

export type DiskState = 'healthy' | 'degraded' | 'suspect' | 'draining' | 'failed';
export type Tier = 'hot' | 'warm' | 'cold';

/** A registered disk and its error counters. */
export interface DiskRow {
  id: number;
  uuid: string;
  path: string;
  tier: Tier;
  state: DiskState;
  addedMs: number;
  readErrors: number;
  checksumErrors: number;
  writeErrors: number;
}

/** Who recorded a disk event; 'repair' notes where a repair put a fragment (from and to are the same state). */
export type TransitionSource = 'operator' | 'monitor' | 'probe' | 'errors' | 'pool' | 'repair';

/** One disk state transition (from is null when the disk was added). */
export interface DiskEvent {
  id: number;
  diskId: number;
  atMs: number;
  from: DiskState | null;
  to: DiskState;
  source: TransitionSource;
  reason: string;
  /** The admin request that caused it (`--request-id`, or the id the coordinator or a local run made up); null: none did. */
  reqId: string | null;
}

export type JobState = 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';

/** A persistent job: its kind, parameters and progress are the job runner's JSON. */
export interface JobRow {
  id: number;
  kind: string;
  state: JobState;
  params: Record<string, unknown>;
  progress: Record<string, unknown>;
  error: string | null;
  createdMs: number;
  updatedMs: number;
  finishedMs: number | null;
}

/** A job as stored: params and progress as their JSON text. */
export type StoredJob = Omit<JobRow, 'params' | 'progress'> & { params: string; progress: string };

/** An extent queued for repair, and why. */
export interface RepairEntry {
  extentId: Buffer;
  reason: string;
  queuedMs: number;
}

/** What MetaStore.onCommit hears after each commit. */
export interface CommitInfo {
  generation: number;
  /** The commit itself (for SQLite, its fsyncs). */
  commitSeconds: number;
  /** Begin to the end of commit: how long the writer lock was held. */
  heldSeconds: number;
}
