/**
 * The metadata store's contract: reads grouped per aggregate, every change through one
 * Txn, and a generation that each commit bumps. Nothing here knows SQLite; the one
 * implementation is meta/sqlite/ (openSqliteStore), chosen by whoever opens the Pool.
 *
 * The contract is synchronous: a Txn runs with no await inside, so transactions never
 * interleave in one process (README, Architecture, on an asynchronous backend).
 * Every record (inodes, directory entries, xattrs, extents, disks, disk events, jobs,
 * repairs, verified marks, meta values) is verified against its checksum when read: a
 * mismatch throws EMETACORRUPT, never returns the record. Aggregates (counts(),
 * verification(), fragmentCounts()) are statistics and read no record whole.
 */
import type { Extent, FragmentRef, Inode, InodeKind } from './records';
import type { CommitInfo, Dirent, DiskEvent, DiskRow, DiskState, JobRow, JobState, RepairEntry, Snapshot, TransitionSource } from './records';

/** The root directory's inode number (every store creates it). */
export const ROOT_INO = 1;

/** The namespace: inodes, directory entries, extended attributes. */
export interface NamespaceReads {
  getInode(ino: number): Inode | undefined;
  lookup(parent: number, name: string): number | undefined;
  /** Entries in name order. */
  readdir(parent: number): Dirent[];
  /** readdir with each entry's kind (for d_type), in one query. */
  readdirKinds(parent: number): (Dirent & { kind: InodeKind })[];
  /** The parent directory and name of an inode (any one link). */
  parentOf(ino: number): (Dirent & { parent: number }) | undefined;
  /** A path naming the inode (any one of its links), or `<inode N, unlinked>` when no directory names it. */
  pathOf(ino: number): string;
  /** An extended attribute's value (verified), or undefined. */
  getXattr(ino: number, name: string): Buffer | undefined;
  listXattrs(ino: number): string[];
  /** Inodes no directory names any more (nlink 0): kept for open handles, dropped on recovery. */
  unlinkedInodes(): number[];
  counts(): { inodes: number; files: number; dirs: number; extents: number; bytes: number };
  /**
   * How many directory entries this store has linked or unlinked since it was opened
   * (aborted transactions' included): the mount compares it with the changes it logs
   * itself (fs/name-log.ts) to know that no other change came between.
   */
  nameChanges(): number;
}

export interface NamespaceWrites {
  allocIno(): number;
  /** Never allocate `ino` or below again (replay of a create the intent log holds). */
  claimIno(ino: number): void;
  putInode(i: Inode): void;
  /** Drops the inode and its xattrs (its extents are dropped with dropExtents). */
  deleteInode(ino: number): void;
  link(parent: number, name: string, ino: number): void;
  unlink(parent: number, name: string): void;
  setXattr(ino: number, name: string, value: Buffer): void;
  /** False when the inode had no such attribute. */
  removeXattr(ino: number, name: string): boolean;
}

/** The tables whose rows carry a checksum: every one but fragments, which their extent's checksum covers. */
export const CHECKSUMMED_TABLES = ['meta', 'disks', 'inodes', 'xattrs', 'dirents', 'extents', 'repairs', 'disk_events', 'jobs', 'verified',
  'snapshots', 'snap_inodes', 'snap_dirents', 'snap_xattrs'] as const;
export type ChecksummedTable = (typeof CHECKSUMMED_TABLES)[number];
/** The tables check walks one row at a time (the namespace and extent walks cover the others, with their own problem kinds). */
export type RowTable = Exclude<ChecksummedTable, 'inodes' | 'dirents' | 'extents'>;

/** A row's primary key, its columns' values in order, as stored. */
export type RowKey = readonly (number | string | Buffer)[];

/** A row failing its checksum: its table and key, and the key spelled out for people (`ino 5, name "user.a"`). */
export interface DamagedRow {
  table: ChecksummedTable;
  key: RowKey;
  keyText: string;
}

/** What copyTo made: the copy's generation, and the rows in it failing their checksum (how many; the first few spelled out). */
export interface StoreCopy {
  generation: number;
  damaged: { count: number; first: string[] };
}

/** An entry as check's walk meets it. */
export type ScannedDirent = (Dirent & { parent: number; corrupt?: undefined }) | { parent: number; name: string; corrupt: true };

/**
 * Whole-store walks in key order, in batches, for `check` (fsck): the keys only, so a
 * record that fails its checksum is met (EMETACORRUPT) when read by getInode, not here.
 */
export interface ScanReads {
  /** Inode numbers above `after`, ascending, at most `limit`. */
  inodeNumbersAfter(after: number, limit: number): number[];
  /**
   * Directory entries after (after.parent, after.name) in (parent, name) order, at most
   * `limit`; from the start without `after`. An entry failing its checksum comes as
   * `corrupt` with its key as stored (and no inode: it cannot be trusted), not as a throw.
   */
  direntsAfter(after: { parent: number; name: string } | undefined, limit: number): ScannedDirent[];
  /** Every row of `tables` failing its checksum, in table then key order (a whole-table walk each). */
  damagedRows(tables: readonly ChecksummedTable[]): DamagedRow[];
}

/** Extents with their fragment placements, and their upkeep: the repair queue and scrub's verified marks. */
export interface ExtentReads {
  /** A file's extents in offset order, each verified with its fragments. */
  extentsOf(ino: number): Extent[];
  getExtent(id: Buffer): Extent | undefined;
  /** Does the store reference this fragment on this disk? (GC's question.) */
  hasFragment(extentId: Buffer, index: number, diskId: number): boolean;
  /** Extent ids with a fragment on the disk (rebuild and drain walk this index). */
  extentsOnDisk(diskId: number): Buffer[];
  /** Fragments per disk id. */
  fragmentCounts(): Map<number, number>;
  /** Every extent id, in batches (for status and scrub). */
  allExtentIds(batch?: number): Generator<Buffer[]>;
  /** Extent ids after `afterId` in id order (scrub walks with a persisted cursor). */
  extentIdsAfter(afterId: Buffer, limit: number): Buffer[];
  repairQueue(): RepairEntry[];
  /**
   * Scrub coverage: extents verified at or after `sinceMs`, of all; the oldest verification
   * time; and how many extents have none (found damaged and not repaired since).
   */
  verification(sinceMs: number): { total: number; verifiedSince: number; oldestMs: number | null; neverVerified: number };
  verifiedAt(extentId: Buffer): number | undefined;
  /** Packed extents whose bytes sit in this pack (their sum of lengths is its live bytes). */
  packRefs(packId: Buffer): Extent[];
  /** Packs whose live bytes are at most `fraction` of their length, fewest live first (compaction's work list). */
  sparsePacks(fraction: number, limit: number): { id: Buffer; length: number; live: number }[];
  /** How many packs sparsePacks(fraction) would list, and their bytes (a job's totals, without listing them). */
  sparsePackTotals(fraction: number): { packs: number; bytes: number };
}

/** An extent removed from the store, with the fragments to delete once that is committed. */
export interface DroppedFragmentsOf {
  extentId: Buffer;
  fragments: FragmentRef[];
}

export interface ExtentWrites {
  /** Store an extent and its placements (replacing any with the same id); it counts as verified now. */
  putExtent(e: Extent): void;
  /**
   * Remove one extent (and its repair and verified marks), returning its fragments for
   * deletion after commit. Dropping the last packed extent of a pack drops the pack too
   * (its fragments are in the result, under the pack's id).
   */
  dropExtent(id: Buffer): DroppedFragmentsOf[];
  /** Remove all of a file's extents (and packs left without a packed extent); returns the fragments to delete after commit. */
  dropExtents(ino: number): DroppedFragmentsOf[];
  /**
   * Make an ended extent (kept for snapshots) its file's again, at its offset (a rollback).
   * False when it cannot: it is not ended, or a snapshot taken since it ended must not see
   * it; then the caller gives the file a new extent referencing its bytes instead.
   */
  reviveExtent(id: Buffer): boolean;
  /**
   * Make file `ino` the owner of extent `id`, another file's live extent (a receive's
   * staging inode, which no snapshot reaches), at the same offset, as if written now: its
   * `born` becomes this generation, so older snapshots still see `ino` as it was. The
   * extent `ino` had there ends as dropExtent would end it; returns its fragments.
   */
  adoptExtent(id: Buffer, ino: number): DroppedFragmentsOf[];
  /** Delete the extent if nothing needs it any more (an ended one no snapshot sees, a pack nothing references); returns its fragments, to delete after commit. */
  collectExtent(id: Buffer): DroppedFragmentsOf[];
  /** The next pack sequence number (a pack's offset under PACK_INO). */
  allocPackSeq(): number;
  /** Record that every fragment of the extent was read and verified (scrub), or just written. */
  markVerified(extentId: Buffer, atMs?: number): void;
  /** The extent was found damaged: it is unverified until a repair or a clean scrub. */
  clearVerified(extentId: Buffer): void;
  queueRepair(extentId: Buffer, reason: string): void;
  clearRepair(extentId: Buffer): void;
}

/** The disk registry and each disk's state history. */
export interface DiskReads {
  listDisks(): DiskRow[];
  getDisk(id: number): DiskRow | undefined;
  /** Disk state transitions, oldest first; of one disk, or of all. */
  diskEvents(diskId?: number): DiskEvent[];
}

export interface DiskWrites {
  /** Register a disk (its first event records the addition, and `reqId`: the admin request that asked for it); returns its id. */
  addDisk(d: Omit<DiskRow, 'id' | 'readErrors' | 'checksumErrors' | 'writeErrors'>, reqId?: string): number;
  /** Move a disk to `state`, recording the transition (from, to, who, why, the admin request behind it) in its event history. */
  setDiskState(id: number, state: DiskState, source: TransitionSource, reason: string, reqId?: string): void;
  countDiskErrors(id: number, kind: 'read' | 'checksum' | 'write', n?: number): void;
  /** Zero a disk's error counters (an operator declaring it healthy again starts a fresh count). */
  resetDiskErrors(id: number): void;
  /** Unregister a disk; the caller has checked that no fragment remains on it. */
  removeDisk(id: number): void;
}

/**
 * A record named by its key, as `check` meets one that fails its checksum. A directory's
 * entries go as one record: a damaged name is a key no copy holds, so the directory is
 * the unit a copy can answer for.
 */
export type RecordRef = { kind: 'inode'; ino: number } | { kind: 'dirents'; parent: number } | { kind: 'extent'; id: Buffer }
  /** One row of another checksummed table, by its key; `text` spells both out (DamagedRow's). */
  | { kind: 'row'; table: RowTable; key: RowKey; text: string };

/** A record's rows as the backend stores them (verified when read), to put into another store of the same backend. */
export interface StoredRecord {
  ref: RecordRef;
  rows: unknown;
}

/** Healing records that fail their checksum from a copy of the store (pool/heal-records.ts). */
export interface RecordCopies {
  /** The record as stored, verified (EMETACORRUPT when it fails here too); undefined when this store has none. */
  storedRecord(ref: RecordRef): StoredRecord | undefined;
  /**
   * Put back, in one SQL transaction and without a new generation (they are rows the
   * store's generation committed), the rows of `records` where this store's fail their
   * checksum; rows that verify here are left as they are. Returns the refs it changed.
   */
  restoreRecords(records: readonly StoredRecord[]): RecordRef[];
}

/** Persistent jobs (rebuild, drain, scrub). */
export interface JobReads {
  jobs(): JobRow[];
  getJob(id: number): JobRow | undefined;
}

export interface JobWrites {
  createJob(kind: string, params: Record<string, unknown>, progress?: Record<string, unknown>): number;
  /** A terminal state (done, failed, cancelled) also stamps finishedMs. */
  updateJob(id: number, change: { state?: JobState; params?: Record<string, unknown>; progress?: Record<string, unknown>; error?: string | null }): void;
}

/**
 * The namespace as it was at one generation (a snapshot's), or as it is (LIVE_GEN): every
 * record verified, as the live reads are. Read-only.
 */
export interface NamespaceView {
  readonly gen: number;
  getInode(ino: number): Inode | undefined;
  lookup(parent: number, name: string): number | undefined;
  /** Entries in name order. */
  readdir(parent: number): Dirent[];
  /** Every entry naming the inode (its hard links). */
  linksOf(ino: number): (Dirent & { parent: number })[];
  /** A path naming the inode (its first link), or undefined when none does at this generation. */
  pathOf(ino: number): string | undefined;
  getXattr(ino: number, name: string): Buffer | undefined;
  /** Every extended attribute, in name order. */
  xattrs(ino: number): Map<string, Buffer>;
  /** The file's extents in offset order, each verified with its fragments. */
  extentsOf(ino: number): Extent[];
}

/** The generation a view of the live namespace is taken at (later than any snapshot). */
export const LIVE_GEN = Number.MAX_SAFE_INTEGER;

/** What changed between two generations: each key with a version born or ended in (from, to]. */
export interface ChangedKeys {
  inodes: number[];
  dirents: { parent: number; name: string }[];
  /** Inodes with an extended attribute changed. */
  xattrInodes: number[];
  /** Files with an extent that began or ended. */
  extentInodes: number[];
}

/** What a snapshot holds, in logical bytes of its files' extents. */
export interface SnapshotUsage {
  name: string;
  /** Every extent it sees. */
  referencedBytes: number;
  /** Extents it alone sees (what deleting it frees). */
  uniqueBytes: number;
  files: number;
}

/** The pool's file bytes by who references them. */
export interface SpaceByOwner {
  /** Extents of live files. */
  liveBytes: number;
  /** Live extents that snapshots see too (stored once). */
  sharedBytes: number;
  /** Extents only snapshots see (ended in their files). */
  snapshotOnlyBytes: number;
}

/** The generations a deleted snapshot's versions lived between: those seen by no other are dropped (purgeVersions). */
export interface PurgeRange {
  /** The previous snapshot's generation (-1: none). */
  after: number;
  gen: number;
  /** The next snapshot's generation, or the generation the deletion committed in. */
  until: number;
}

export interface SnapshotReads {
  /** Every snapshot, oldest first. */
  snapshots(): Snapshot[];
  getSnapshot(name: string): Snapshot | undefined;
  /** The snapshots holding the tree `guid` names (a pool may hold one per root: taken here, and received under other paths), by root. */
  snapshotsByGuid(guid: Buffer): Snapshot[];
  /** The namespace at generation `gen` (a snapshot's, or LIVE_GEN). */
  viewAt(gen: number): NamespaceView;
  /** The keys changed between generation `from` and `to` (to: LIVE_GEN for now). */
  changedBetween(from: number, to: number): ChangedKeys;
  snapshotUsage(): SnapshotUsage[];
  spaceByOwner(): SpaceByOwner;
}

export interface SnapshotWrites {
  /**
   * Record a snapshot of generation `gen` (committed already, or, last in a transaction,
   * the one it commits as); returns its id. `guid` names its tree (a random one for a
   * snapshot taken here, the sender's for a received one), `root` where that tree is
   * ('/' unless received elsewhere); EEXIST for a name, or a guid at that root, taken.
   */
  createSnapshot(name: string, gen: number, createdMs: number, guid?: Buffer, root?: string): number;
  /** Remove the snapshot's record; returns the range whose versions purgeVersions then drops. */
  deleteSnapshot(name: string): PurgeRange;
  setSnapshotHeld(name: string, held: boolean): void;
  /**
   * Drop up to `limit` versions of `range` that no snapshot sees (kept rows, ended extents
   * with what only they referenced); `more` while some may remain. Fragments come back for
   * deletion after the commit.
   */
  purgeVersions(range: PurgeRange, limit: number): { versions: number; dropped: DroppedFragmentsOf[]; more: boolean };
}

/** Settings stored with the pool, as JSON values under a name. */
export interface ConfigReads {
  getConfig<T>(name: string): T | undefined;
}

export interface ConfigWrites {
  setConfig(name: string, value: unknown): void;
}

/** Every write a transaction can make, without the transaction's own commit and abort. */
export type TxnWrites = NamespaceWrites & ExtentWrites & DiskWrites & JobWrites & ConfigWrites & SnapshotWrites;

/** One write transaction: every change goes through one; commit() bumps the generation. */
export interface Txn extends TxnWrites {
  /** Make the changes durable; returns the new generation. */
  commit(): number;
  /** Drop the changes (a no-op once ended). */
  abort(): void;
}

export interface MetaStore extends NamespaceReads, ScanReads, ExtentReads, DiskReads, JobReads, ConfigReads, RecordCopies, SnapshotReads {
  /** Number of committed transactions since the pool was created. */
  generation(): number;
  /** Start the one write transaction (EINTERNAL if one is open). */
  begin(): Txn;
  /** Run fn in a transaction: commit if it returns, abort if it throws. */
  transact<T>(fn: (tx: Txn) => T): T;
  /** Called after every commit: the engine feeds its metrics from it (meta/ knows nothing of them). */
  onCommit: ((c: CommitInfo) => void) | undefined;
  /**
   * Transaction groups. On: every Txn joins the one open group (its commit makes nothing
   * durable yet, and returns the generation the group will commit as); commitGroup makes
   * the whole group durable at once. Off: the open group is committed first.
   */
  setGrouping(on: boolean): void;
  /** Whether the open group holds changes not committed yet. */
  groupPending(): boolean;
  /**
   * Transactions committed since the store was opened (into the open group or on their
   * own): the mount counts those the intent log holds against it (fs/file-log.ts).
   */
  transactions(): number;
  /** Commit the open group (one generation); undefined when it held nothing. */
  commitGroup(): number | undefined;
  /**
   * Called synchronously with every COMMIT (a Txn's without groups, a group's with them):
   * the generation and its redo payload, the writes made in it (redo-log.ts). The pool
   * copies it to its disks; a throw fails the commit's caller (the store is committed).
   */
  onGeneration: ((generation: number, payload: Buffer) => void) | undefined;
  /**
   * Whether a COMMIT is durable by itself (on: the default) or only ordered (off: a crash
   * may lose the last commits, never tear the store). Off only while every generation is
   * made durable elsewhere before it counts (pool/meta-copies.ts: the disks' copies, in a
   * coordinator); makeDurable() then covers a generation no copy took.
   */
  setDurableCommits(on: boolean): void;
  /** Make every commit so far durable (after commits that were not). */
  makeDurable(): void;
  /**
   * Write a consistent copy of the store as of its last commit to `file`, and verify
   * every row of it (a checkpoint must not seal a damaged row: pool/meta-copies.ts).
   */
  copyTo(file: string): StoreCopy;
  /** The same, off the caller's thread (a coordinator's background checkpoint). */
  copyToInWorker(file: string): Promise<StoreCopy>;
  /** What a structural check of the store finds wrong (SQLite's quick_check); empty when sound. */
  checkStructure(): string[];
  close(): void;
}

/**
 * How a Pool gets its store: open the one belonging to the pool directory, or with
 * `create`, make a new one. The caller that opens the Pool (engine, init) passes it.
 */
export type OpenMetaStore = (poolDir: string, opts: { create: boolean }) => MetaStore;
