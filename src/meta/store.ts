/**
 * The metadata store: one SQLite database (better-sqlite3, WAL, synchronous=FULL),
 * one writer. Reads go through MetaStore; every change goes through a Txn, and every
 * committed Txn bumps the generation counter. Inode and extent records are verified
 * against their checksums whenever they are read: a mismatch is EMETACORRUPT, never
 * silently used.
 */
import Database from 'better-sqlite3';
import { DfsError } from '../errors';
import { SCHEMA, SCHEMA_VERSION } from './schema';
import { extentChecksum, inodeChecksum, newInode, xattrChecksum, type Extent, type FragmentRef, type Inode, type InodeKind, type ExtentScheme } from './records';

export const ROOT_INO = 1;

export type DiskState = 'healthy' | 'degraded' | 'suspect' | 'draining' | 'failed';
export type Tier = 'hot' | 'warm' | 'cold';

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

export interface Dirent {
  name: string;
  ino: number;
}

interface InodeSql { ino: number; kind: string; mode: number; uid: number; gid: number; size: number; nlink: number; atime_ms: number;
  mtime_ms: number; ctime_ms: number; policy: string | null; target: string | null; rdev: number; checksum: Buffer }
interface ExtentSql { id: Buffer; ino: number; offset: number; length: number; scheme: string; k: number; m: number; frag_len: number; logical_hash: Buffer; inline_data: Buffer | null; checksum: Buffer }
interface DiskSql { id: number; uuid: string; path: string; tier: string; state: string; added_ms: number; read_errors: number; checksum_errors: number; write_errors: number }

function corrupt(what: string): DfsError {
  return new DfsError('EMETACORRUPT', `metadata record ${what} fails its checksum; the metadata store is damaged (restore meta.db from a backup)`);
}

function toDisk(r: DiskSql): DiskRow {
  return { id: r.id, uuid: r.uuid, path: r.path, tier: r.tier as Tier, state: r.state as DiskState, addedMs: r.added_ms,
    readErrors: r.read_errors, checksumErrors: r.checksum_errors, writeErrors: r.write_errors };
}

/** What MetaStore.onCommit hears after each commit. */
export interface CommitInfo {
  generation: number;
  /** The COMMIT itself (SQLite's fsyncs). */
  commitSeconds: number;
  /** BEGIN to the end of COMMIT: how long the writer lock was held. */
  heldSeconds: number;
}

export class MetaStore {
  private readonly db: Database.Database;
  /** Called after every commit: the engine feeds its metrics from it (meta/ knows nothing of them). */
  onCommit: ((c: CommitInfo) => void) | undefined;
  private txnOpen = false;
  private readonly sql: (text: string) => Database.Statement;

  private constructor(readonly file: string, db: Database.Database) {
    this.db = db;
    this.sql = statementCache(db);
  }

  /** Open (or with create, create) the store at `file`. */
  static open(file: string, opts: { create?: boolean; readonly?: boolean } = {}): MetaStore {
    let db: Database.Database;
    try {
      db = new Database(file, { fileMustExist: !opts.create, readonly: opts.readonly ?? false });
    } catch (err) {
      throw new DfsError('ENOTPOOL', `cannot open metadata store ${file}: ${(err as Error).message}`, file);
    }
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = OFF');
    const store = new MetaStore(file, db);
    if (opts.create) store.initSchema();
    if (!opts.readonly) store.upgrade();
    const version = store.metaValue('schema_version');
    if (version !== SCHEMA_VERSION) {
      db.close();
      throw new DfsError('EFORMAT', `metadata store ${file} has schema version ${String(version)}; this DynamicFS reads version ${SCHEMA_VERSION}`, file);
    }
    return store;
  }

  private initSchema(): void {
    this.db.exec(SCHEMA);
    const now = Date.now();
    const init = this.db.transaction(() => {
      const put = this.sql('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
      put.run('schema_version', SCHEMA_VERSION);
      put.run('generation', 0);
      put.run('next_ino', ROOT_INO + 1);
      const root = newInode(ROOT_INO, 'dir', 0o755, now);
      if (!this.sql('SELECT 1 FROM inodes WHERE ino = ?').get(ROOT_INO)) writeInode(this.sql, root);
    });
    init();
  }

  /**
   * Bring an older store up to SCHEMA_VERSION in one transaction. 1 → 2: the new tables;
   * every extent counts as verified now (its hashes were checked when written).
   * 2 → 3: inodes.rdev, 0 for every existing inode.
   */
  private upgrade(): void {
    const from = this.metaValue('schema_version');
    if (from !== 1 && from !== 2) return;
    this.db.transaction(() => {
      if (from === 1) {
        this.sql('ALTER TABLE inodes ADD COLUMN rdev INTEGER NOT NULL DEFAULT 0').run();
        this.db.exec(SCHEMA);
        this.sql('INSERT OR IGNORE INTO verified (extent_id, at_ms) SELECT id, ? FROM extents').run(Date.now());
      } else {
        this.sql('ALTER TABLE inodes ADD COLUMN rdev INTEGER NOT NULL DEFAULT 0').run();
      }
      this.sql("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(SCHEMA_VERSION);
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private metaValue(key: string): unknown {
    const row = this.sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: unknown } | undefined;
    return row?.value;
  }

  /** Number of committed transactions since the pool was created. */
  generation(): number {
    return Number(this.metaValue('generation'));
  }

  /** Start a write transaction (BEGIN IMMEDIATE: the one writer holds the lock from here). */
  begin(): Txn {
    if (this.txnOpen) throw new DfsError('EINTERNAL', 'a metadata transaction is already open');
    this.sql('BEGIN IMMEDIATE').run();
    this.txnOpen = true;
    return new Txn(this.db, () => { this.txnOpen = false; }, this.sql, (c) => this.onCommit?.(c));
  }

  /** Run fn in a transaction: commit if it returns, abort if it throws. */
  transact<T>(fn: (tx: Txn) => T): T {
    const tx = this.begin();
    try {
      const out = fn(tx);
      tx.commit();
      return out;
    } catch (err) {
      tx.abort();
      throw err;
    }
  }

  // ---- reads (all verified) ----

  getInode(ino: number): Inode | undefined {
    const r = this.sql('SELECT * FROM inodes WHERE ino = ?').get(ino) as InodeSql | undefined;
    return r ? verifyInode(r) : undefined;
  }

  lookup(parent: number, name: string): number | undefined {
    const r = this.sql('SELECT ino FROM dirents WHERE parent = ? AND name = ?').get(parent, name) as { ino: number } | undefined;
    return r?.ino;
  }

  readdir(parent: number): Dirent[] {
    return this.sql('SELECT name, ino FROM dirents WHERE parent = ? ORDER BY name').all(parent) as Dirent[];
  }

  /** readdir with each entry's kind (for d_type), in one query. */
  readdirKinds(parent: number): (Dirent & { kind: InodeKind })[] {
    return this.sql('SELECT d.name, d.ino, i.kind FROM dirents d JOIN inodes i ON i.ino = d.ino WHERE d.parent = ? ORDER BY d.name')
      .all(parent) as (Dirent & { kind: InodeKind })[];
  }

  /** The parent directory and name of an inode (any one link). */
  parentOf(ino: number): Dirent & { parent: number } | undefined {
    return this.sql('SELECT parent, name, ino FROM dirents WHERE ino = ? LIMIT 1').get(ino) as (Dirent & { parent: number }) | undefined;
  }

  /** A path naming the inode (any one of its links), or `<inode N, unlinked>` when no directory names it. */
  pathOf(ino: number): string {
    const names: string[] = [];
    let cur = ino;
    for (let guard = 0; cur !== ROOT_INO && guard < 4096; guard++) {
      const d = this.parentOf(cur);
      if (!d) return `<inode ${ino}, unlinked>`;
      names.unshift(d.name);
      cur = d.parent;
    }
    return `/${names.join('/')}`;
  }

  /** A file's extents in offset order, each verified with its fragments. */
  extentsOf(ino: number): Extent[] {
    const rows = this.sql('SELECT * FROM extents WHERE ino = ? ORDER BY offset').all(ino) as ExtentSql[];
    return rows.map((r) => this.verifyExtent(r));
  }

  getExtent(id: Buffer): Extent | undefined {
    const r = this.sql('SELECT * FROM extents WHERE id = ?').get(id) as ExtentSql | undefined;
    return r ? this.verifyExtent(r) : undefined;
  }

  private verifyExtent(r: ExtentSql): Extent {
    const fragments = (this.sql('SELECT idx, disk_id, hash FROM fragments WHERE extent_id = ? ORDER BY idx').all(r.id) as
      { idx: number; disk_id: number; hash: Buffer }[]).map((f) => ({ index: f.idx, diskId: f.disk_id, hash: f.hash }));
    const e: Extent = { id: r.id, ino: r.ino, offset: r.offset, length: r.length, scheme: r.scheme as ExtentScheme, k: r.k, m: r.m,
      fragLen: r.frag_len, logicalHash: r.logical_hash, inlineData: r.inline_data, fragments };
    if (!extentChecksum(e).equals(r.checksum)) throw corrupt(`extent ${r.id.toString('hex')} (file inode ${r.ino})`);
    return e;
  }

  /** Does the store reference this fragment on this disk? (GC's question.) */
  hasFragment(extentId: Buffer, index: number, diskId: number): boolean {
    return !!this.sql('SELECT 1 FROM fragments WHERE extent_id = ? AND idx = ? AND disk_id = ?').get(extentId, index, diskId);
  }

  /** Extent ids with a fragment on the disk (rebuild and drain walk this index). */
  extentsOnDisk(diskId: number): Buffer[] {
    return (this.sql('SELECT DISTINCT extent_id FROM fragments WHERE disk_id = ?').all(diskId) as { extent_id: Buffer }[]).map((r) => r.extent_id);
  }

  fragmentCounts(): Map<number, number> {
    const rows = this.sql('SELECT disk_id, COUNT(*) AS n FROM fragments GROUP BY disk_id').all() as { disk_id: number; n: number }[];
    return new Map(rows.map((r) => [r.disk_id, r.n]));
  }

  /** Every extent id, in batches (for status and scrub). */
  *allExtentIds(batch = 1000): Generator<Buffer[]> {
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      const rows = this.sql('SELECT id FROM extents WHERE id > ? ORDER BY id LIMIT ?').all(after, batch) as { id: Buffer }[];
      if (rows.length === 0) return;
      yield rows.map((r) => r.id);
      after = Buffer.from(rows[rows.length - 1]!.id);
    }
  }

  counts(): { inodes: number; files: number; dirs: number; extents: number; bytes: number } {
    const i = this.sql("SELECT COUNT(*) AS n, SUM(kind = 'file') AS f, SUM(kind = 'dir') AS d, COALESCE(SUM(CASE WHEN kind = 'file' THEN size END), 0) AS b FROM inodes").get() as
      { n: number; f: number; d: number; b: number };
    const e = this.sql('SELECT COUNT(*) AS n FROM extents').get() as { n: number };
    return { inodes: i.n, files: i.f ?? 0, dirs: i.d ?? 0, extents: e.n, bytes: i.b };
  }

  /** An extended attribute's value (verified), or undefined. */
  getXattr(ino: number, name: string): Buffer | undefined {
    const r = this.sql('SELECT value, checksum FROM xattrs WHERE ino = ? AND name = ?').get(ino, name) as { value: Buffer; checksum: Buffer } | undefined;
    if (!r) return undefined;
    if (!xattrChecksum(ino, name, r.value).equals(r.checksum)) throw corrupt(`xattr ${name} of inode ${ino}`);
    return r.value;
  }

  listXattrs(ino: number): string[] {
    return (this.sql('SELECT name FROM xattrs WHERE ino = ? ORDER BY name').all(ino) as { name: string }[]).map((r) => r.name);
  }

  /** Inodes no directory names any more (nlink 0): kept for open handles, dropped on recovery. */
  unlinkedInodes(): number[] {
    return (this.sql('SELECT ino FROM inodes WHERE nlink = 0').all() as { ino: number }[]).map((r) => r.ino);
  }

  listDisks(): DiskRow[] {
    return (this.sql('SELECT * FROM disks ORDER BY id').all() as DiskSql[]).map(toDisk);
  }

  getDisk(id: number): DiskRow | undefined {
    const r = this.sql('SELECT * FROM disks WHERE id = ?').get(id) as DiskSql | undefined;
    return r && toDisk(r);
  }

  /** A setting stored with the pool (JSON under meta key `config.<name>`), or undefined. */
  getConfig<T>(name: string): T | undefined {
    const v = this.metaValue(`config.${name}`);
    return typeof v === 'string' ? (JSON.parse(v) as T) : undefined;
  }

  /** Disk state transitions, oldest first; of one disk, or of all. */
  diskEvents(diskId?: number): DiskEvent[] {
    const rows = (diskId === undefined
      ? this.sql('SELECT * FROM disk_events ORDER BY id').all()
      : this.sql('SELECT * FROM disk_events WHERE disk_id = ? ORDER BY id').all(diskId)) as DiskEventSql[];
    return rows.map((r) => ({ id: r.id, diskId: r.disk_id, atMs: r.at_ms, from: r.from_state as DiskState | null, to: r.to_state as DiskState,
      source: r.source as TransitionSource, reason: r.reason }));
  }

  jobs(): JobRow[] {
    return (this.sql('SELECT * FROM jobs ORDER BY id').all() as JobSql[]).map(toJob);
  }

  getJob(id: number): JobRow | undefined {
    const r = this.sql('SELECT * FROM jobs WHERE id = ?').get(id) as JobSql | undefined;
    return r ? toJob(r) : undefined;
  }

  /**
   * Scrub coverage: extents verified at or after `sinceMs`, of all; the oldest verification
   * time; and how many extents have none (found damaged and not repaired since).
   */
  verification(sinceMs: number): { total: number; verifiedSince: number; oldestMs: number | null; neverVerified: number } {
    const r = this.sql(`SELECT COUNT(*) AS total, SUM(v.at_ms >= ?) AS recent, MIN(v.at_ms) AS oldest, SUM(v.at_ms IS NULL) AS never
                        FROM extents e LEFT JOIN verified v ON v.extent_id = e.id`).get(sinceMs) as { total: number; recent: number | null; oldest: number | null; never: number | null };
    return { total: r.total, verifiedSince: r.recent ?? 0, oldestMs: r.oldest, neverVerified: r.never ?? 0 };
  }

  verifiedAt(extentId: Buffer): number | undefined {
    return (this.sql('SELECT at_ms FROM verified WHERE extent_id = ?').get(extentId) as { at_ms: number } | undefined)?.at_ms;
  }

  /** Extent ids after `afterId` in id order (scrub walks with a persisted cursor). */
  extentIdsAfter(afterId: Buffer, limit: number): Buffer[] {
    return (this.sql('SELECT id FROM extents WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as { id: Buffer }[]).map((r) => r.id);
  }

  repairQueue(): { extentId: Buffer; reason: string; queuedMs: number }[] {
    return (this.sql('SELECT * FROM repairs ORDER BY queued_ms').all() as { extent_id: Buffer; reason: string; queued_ms: number }[])
      .map((r) => ({ extentId: r.extent_id, reason: r.reason, queuedMs: r.queued_ms }));
  }
}

/** Prepared statements, compiled once per connection (compiling costs more than most queries). */
function statementCache(db: Database.Database): (text: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>();
  return (text) => {
    let st = cache.get(text);
    if (!st) {
      st = db.prepare(text);
      cache.set(text, st);
    }
    return st;
  };
}

/** Who recorded a disk event; 'repair' notes where a repair put a fragment (from and to are the same state). */
export type TransitionSource = 'operator' | 'monitor' | 'probe' | 'errors' | 'pool' | 'repair';

export interface DiskEvent {
  id: number;
  diskId: number;
  atMs: number;
  from: DiskState | null;
  to: DiskState;
  source: TransitionSource;
  reason: string;
}

export type JobState = 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';

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

interface DiskEventSql { id: number; disk_id: number; at_ms: number; from_state: string | null; to_state: string; source: string; reason: string }
interface JobSql { id: number; kind: string; state: string; params: string; progress: string; error: string | null; created_ms: number; updated_ms: number; finished_ms: number | null }

function toJob(r: JobSql): JobRow {
  return { id: r.id, kind: r.kind, state: r.state as JobState, params: JSON.parse(r.params) as Record<string, unknown>,
    progress: JSON.parse(r.progress) as Record<string, unknown>, error: r.error, createdMs: r.created_ms, updatedMs: r.updated_ms, finishedMs: r.finished_ms };
}

function verifyInode(r: InodeSql): Inode {
  const i: Inode = { ino: r.ino, kind: r.kind as InodeKind, mode: r.mode, uid: r.uid, gid: r.gid, size: r.size, nlink: r.nlink,
    atimeMs: r.atime_ms, mtimeMs: r.mtime_ms, ctimeMs: r.ctime_ms, policy: r.policy, target: r.target, rdev: r.rdev };
  if (!inodeChecksum(i).equals(r.checksum)) throw corrupt(`inode ${r.ino}`);
  return i;
}

function writeInode(sql: (text: string) => Database.Statement, i: Inode): void {
  sql(`INSERT OR REPLACE INTO inodes (ino, kind, mode, uid, gid, size, nlink, atime_ms, mtime_ms, ctime_ms, policy, target, rdev, checksum)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    .run(i.ino, i.kind, i.mode, i.uid, i.gid, i.size, i.nlink, i.atimeMs, i.mtimeMs, i.ctimeMs, i.policy, i.target, i.rdev, inodeChecksum(i));
}

/**
 * One write transaction. Every change of the namespace, an extent map, the disk
 * registry or the repair queue happens through one. commit() bumps the generation.
 */
export class Txn {
  private done = false;

  private readonly sql: (text: string) => Database.Statement;

  private readonly beganMs = performance.now();

  constructor(private readonly db: Database.Database, private readonly onEnd: () => void, sql?: (text: string) => Database.Statement,
    private readonly committed?: (c: CommitInfo) => void) {
    this.sql = sql ?? statementCache(db);
  }

  commit(): number {
    this.check();
    const started = performance.now();
    this.sql("UPDATE meta SET value = value + 1 WHERE key = 'generation'").run();
    this.sql('COMMIT').run();
    this.end();
    const generation = Number((this.sql("SELECT value FROM meta WHERE key = 'generation'").get() as { value: number }).value);
    const ended = performance.now();
    try {
      this.committed?.({ generation, commitSeconds: (ended - started) / 1000, heldSeconds: (ended - this.beganMs) / 1000 });
    } catch {
      // An observer must never turn a durable commit into an error.
    }
    return generation;
  }

  abort(): void {
    if (this.done) return;
    if (this.db.inTransaction) this.sql('ROLLBACK').run();
    this.end();
  }

  private end(): void {
    this.done = true;
    this.onEnd();
  }

  private check(): void {
    if (this.done) throw new DfsError('EINTERNAL', 'metadata transaction already ended');
  }

  allocIno(): number {
    this.check();
    const r = this.sql("SELECT value FROM meta WHERE key = 'next_ino'").get() as { value: number };
    this.sql("UPDATE meta SET value = value + 1 WHERE key = 'next_ino'").run();
    return Number(r.value);
  }

  putInode(i: Inode): void {
    this.check();
    writeInode(this.sql, i);
  }

  deleteInode(ino: number): void {
    this.check();
    this.sql('DELETE FROM inodes WHERE ino = ?').run(ino);
    this.sql('DELETE FROM xattrs WHERE ino = ?').run(ino);
  }

  setXattr(ino: number, name: string, value: Buffer): void {
    this.check();
    this.sql('INSERT OR REPLACE INTO xattrs (ino, name, value, checksum) VALUES (?, ?, ?, ?)').run(ino, name, value, xattrChecksum(ino, name, value));
  }

  removeXattr(ino: number, name: string): boolean {
    this.check();
    return this.sql('DELETE FROM xattrs WHERE ino = ? AND name = ?').run(ino, name).changes > 0;
  }

  /** Remove one extent (by id), returning its fragments for deletion after commit. */
  dropExtent(id: Buffer): FragmentRef[] {
    this.check();
    const frags = (this.sql('SELECT idx, disk_id, hash FROM fragments WHERE extent_id = ?').all(id) as { idx: number; disk_id: number; hash: Buffer }[])
      .map((f) => ({ index: f.idx, diskId: f.disk_id, hash: f.hash }));
    this.sql('DELETE FROM fragments WHERE extent_id = ?').run(id);
    this.sql('DELETE FROM repairs WHERE extent_id = ?').run(id);
    this.sql('DELETE FROM verified WHERE extent_id = ?').run(id);
    this.sql('DELETE FROM extents WHERE id = ?').run(id);
    return frags;
  }

  link(parent: number, name: string, ino: number): void {
    this.check();
    this.sql('INSERT INTO dirents (parent, name, ino) VALUES (?, ?, ?)').run(parent, name, ino);
  }

  unlink(parent: number, name: string): void {
    this.check();
    this.sql('DELETE FROM dirents WHERE parent = ? AND name = ?').run(parent, name);
  }

  /** Store an extent and its fragment placements (replacing any with the same id). */
  putExtent(e: Extent): void {
    this.check();
    this.sql(`INSERT OR REPLACE INTO extents (id, ino, offset, length, scheme, k, m, frag_len, logical_hash, inline_data, checksum)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(e.id, e.ino, e.offset, e.length, e.scheme, e.k, e.m, e.fragLen, e.logicalHash, e.inlineData, extentChecksum(e));
    this.sql('DELETE FROM fragments WHERE extent_id = ?').run(e.id);
    const ins = this.sql('INSERT INTO fragments (extent_id, idx, disk_id, hash) VALUES (?, ?, ?, ?)');
    for (const f of e.fragments) ins.run(e.id, f.index, f.diskId, f.hash);
    // Every fragment was just written from (or rebuilt to) its verified hash.
    this.markVerified(e.id);
  }

  /** The extent was found damaged: it is unverified until a repair or a clean scrub. */
  clearVerified(extentId: Buffer): void {
    this.check();
    this.sql('DELETE FROM verified WHERE extent_id = ?').run(extentId);
  }

  /** Record that every fragment of the extent was read and verified (scrub), or just written. */
  markVerified(extentId: Buffer, atMs = Date.now()): void {
    this.check();
    this.sql('INSERT OR REPLACE INTO verified (extent_id, at_ms) VALUES (?, ?)').run(extentId, atMs);
  }

  /** Remove all of a file's extents; returns their fragment placements for deletion after commit. */
  dropExtents(ino: number): { extentId: Buffer; fragments: FragmentRef[] }[] {
    this.check();
    const ids = (this.sql('SELECT id FROM extents WHERE ino = ?').all(ino) as { id: Buffer }[]).map((r) => r.id);
    const out = ids.map((id) => ({
      extentId: id,
      fragments: (this.sql('SELECT idx, disk_id, hash FROM fragments WHERE extent_id = ?').all(id) as { idx: number; disk_id: number; hash: Buffer }[])
        .map((f) => ({ index: f.idx, diskId: f.disk_id, hash: f.hash })),
    }));
    for (const id of ids) {
      this.sql('DELETE FROM fragments WHERE extent_id = ?').run(id);
      this.sql('DELETE FROM repairs WHERE extent_id = ?').run(id);
      this.sql('DELETE FROM verified WHERE extent_id = ?').run(id);
    }
    this.sql('DELETE FROM extents WHERE ino = ?').run(ino);
    return out;
  }

  addDisk(d: Omit<DiskRow, 'id' | 'readErrors' | 'checksumErrors' | 'writeErrors'>): number {
    this.check();
    const r = this.sql('INSERT INTO disks (uuid, path, tier, state, added_ms) VALUES (?, ?, ?, ?, ?)')
      .run(d.uuid, d.path, d.tier, d.state, d.addedMs);
    const id = Number(r.lastInsertRowid);
    this.sql('INSERT INTO disk_events (disk_id, at_ms, from_state, to_state, source, reason) VALUES (?, ?, NULL, ?, ?, ?)')
      .run(id, d.addedMs, d.state, 'pool', `added at ${d.path}`);
    return id;
  }

  /** Move a disk to `state`, recording the transition (from, to, who, why) in its event history. */
  setDiskState(id: number, state: DiskState, source: TransitionSource, reason: string): void {
    this.check();
    const cur = this.sql('SELECT state FROM disks WHERE id = ?').get(id) as { state: string } | undefined;
    if (!cur) throw new DfsError('ENOENT', `disk ${id} is not in the pool`);
    this.sql('UPDATE disks SET state = ? WHERE id = ?').run(state, id);
    this.sql('INSERT INTO disk_events (disk_id, at_ms, from_state, to_state, source, reason) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, Date.now(), cur.state, state, source, reason);
  }

  /** Zero a disk's error counters (an operator declaring it healthy again starts a fresh count). */
  resetDiskErrors(id: number): void {
    this.check();
    this.sql('UPDATE disks SET read_errors = 0, checksum_errors = 0, write_errors = 0 WHERE id = ?').run(id);
  }

  /** Unregister a disk; the caller has checked that no fragment remains on it. */
  removeDisk(id: number): void {
    this.check();
    this.sql('DELETE FROM disks WHERE id = ?').run(id);
  }

  setConfig(name: string, value: unknown): void {
    this.check();
    this.sql('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(`config.${name}`, JSON.stringify(value));
  }

  createJob(kind: string, params: Record<string, unknown>, progress: Record<string, unknown> = {}): number {
    this.check();
    const now = Date.now();
    const r = this.sql('INSERT INTO jobs (kind, state, params, progress, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?)')
      .run(kind, 'queued', JSON.stringify(params), JSON.stringify(progress), now, now);
    return Number(r.lastInsertRowid);
  }

  updateJob(id: number, change: { state?: JobState; params?: Record<string, unknown>; progress?: Record<string, unknown>; error?: string | null }): void {
    this.check();
    const now = Date.now();
    const finished = change.state === 'done' || change.state === 'failed' || change.state === 'cancelled' ? now : null;
    const json = (v: object | undefined): string | null => (v ? JSON.stringify(v) : null);
    this.sql(`UPDATE jobs SET state = COALESCE(?, state), params = COALESCE(?, params), progress = COALESCE(?, progress),
              error = CASE WHEN ? THEN ? ELSE error END, updated_ms = ?, finished_ms = COALESCE(?, finished_ms) WHERE id = ?`)
      .run(change.state ?? null, json(change.params), json(change.progress), change.error !== undefined ? 1 : 0, change.error ?? null,
        now, finished, id);
  }

  countDiskErrors(id: number, kind: 'read' | 'checksum' | 'write', n = 1): void {
    this.check();
    const col = { read: 'read_errors', checksum: 'checksum_errors', write: 'write_errors' }[kind];
    this.sql(`UPDATE disks SET ${col} = ${col} + ? WHERE id = ?`).run(n, id);
  }

  queueRepair(extentId: Buffer, reason: string): void {
    this.check();
    this.sql('INSERT OR IGNORE INTO repairs (extent_id, reason, queued_ms) VALUES (?, ?, ?)').run(extentId, reason, Date.now());
  }

  clearRepair(extentId: Buffer): void {
    this.check();
    this.sql('DELETE FROM repairs WHERE extent_id = ?').run(extentId);
  }
}
