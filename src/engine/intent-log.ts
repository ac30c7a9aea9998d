/**
 * The intent log (like ZFS's ZIL): what makes an fsync durable without a group commit.
 * An fsync of a file whose namespace is already committed appends records of the bytes
 * written to it since the last group commit (intent-record.ts) to the log of m+1 pool
 * disks (m: the pool policy's parity), each synced, in parallel; the file itself stays
 * dirty in memory. A group commit either takes the file whole (its extents written as
 * usual; its records, naming the generation before, are obsolete) or, when the group
 * leaves the file untouched, carries its records over: the group's metadata itself
 * says since which generation each carried file has been carried (CARRY_KEY), so a
 * carry costs no append. Once no record is carried the logs are emptied, and past LOG_COMPACT_BYTES
 * the next commit takes every logged file whole. Opening the pool after a crash replays
 * the records valid on the committed generation (fs/log-replay.ts).
 *
 * Appends and group commits exclude each other (the log is held from a commit's
 * prepare to its finish): a record never names a generation that is being replaced.
 */
import { DfsError } from '../errors';
import type { Metrics } from '../metrics/metrics';
import type { Pool } from '../pool/pool';
import { decodeRecords, encodeRecords, replayable, uuidBytes, type LogRecord } from './intent-record';
import type { Placement } from './placement';
import type { GroupParticipant } from './txg';

/** Records longer than this are split (a record is read and hashed whole). */
export const LOG_RECORD_MAX_DATA = 1024 * 1024;

/** Past this many bytes in the logs since they were last emptied, the next group commit takes every logged file whole (and empties them). */
export const LOG_COMPACT_BYTES = 32 * 1024 * 1024;

/**
 * Config key (config.intentLog, docs/FORMAT.md) written in every group that carries
 * records over or stops carrying them: the generation that group commits as, and per
 * carried inode the first generation of its unbroken run of carrying commits.
 */
export const CARRY_KEY = 'intentLog';

interface CarryState {
  generation: number;
  carriedSince: Record<string, number>;
}

/**
 * What an fsync logs about one file: a byte range with its data, or (empty data) a new
 * size; or (name) a namespace change it depends on, each a record of its own.
 */
export type LogEntry = Pick<LogRecord, 'ino' | 'offset' | 'size' | 'mtimeMs' | 'data'> & { name?: boolean };

export class IntentLog {
  private readonly poolId: Buffer;
  private seq = 0;
  private lock: Promise<unknown> = Promise.resolve();
  private unlockCommit: (() => void) | undefined;
  /** Disks holding records since their last reset. */
  private readonly written = new Set<number>();
  /** Bytes appended (one copy) since the logs were last emptied. */
  private bytesSinceReset = 0;
  /** The commit being prepared carries records over: the logs must not be emptied after it. */
  private carrying = false;
  /** The last group commit left no record valid (committed, nothing carried). */
  private obsolete = true;

  constructor(private readonly pool: Pool, private readonly placement: Placement, private readonly metrics: Metrics) {
    this.poolId = uuidBytes(pool.superblock.uuid);
  }

  /** Run fn with the log to itself (no group commit starts or ends meanwhile). */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.lock;
    let done!: () => void;
    this.lock = new Promise<void>((r) => { done = r; });
    await prev;
    try {
      return await fn();
    } finally {
      done();
    }
  }

  /** Joins every group commit: held from prepare to finish, emptied after a commit. */
  participant(): GroupParticipant {
    return {
      pending: () => false,
      prepare: () => new Promise<void>((held) => {
        void this.exclusive(() => new Promise<void>((release) => {
          this.unlockCommit = release;
          held();
        }));
      }),
      finish: async (committed) => {
        try {
          this.obsolete = committed && !this.carrying;
          if (committed) {
            // Kept allocated: the next fsync's append overwrites it from the start (see FragmentStore.resetLog).
            if (!this.carrying) await this.reset([...this.written], { keepSpace: true });
          }
        } finally {
          this.carrying = false;
          const release = this.unlockCommit;
          this.unlockCommit = undefined;
          release?.();
        }
      },
    };
  }

  /** The logs have grown enough that the next group commit should take the logged files whole. */
  get full(): boolean {
    return this.bytesSinceReset > LOG_COMPACT_BYTES;
  }

  /**
   * In a group commit's prepare: the group leaves these inodes' files untouched, so their
   * records stay valid on the generation it commits as, and the logs are not emptied
   * after it. Recorded in the group itself (CARRY_KEY): atomic with its COMMIT, and no
   * append to the logs.
   */
  carryOver(inos: number[]): void {
    this.carrying = inos.length > 0;
    const was = this.carryState();
    if (inos.length === 0 && Object.keys(was.carriedSince).length === 0) return;
    const generation = this.pool.meta.generation() + 1;
    const carriedSince: Record<string, number> = {};
    // The key of the generation before, or this group's own from a commit of it that failed.
    const run = was.generation === generation - 1 || was.generation === generation;
    // Carried by the group before too: the run goes on; else it starts with this group.
    for (const ino of inos) carriedSince[ino] = run ? was.carriedSince[ino] ?? generation : generation;
    this.pool.meta.transact((tx) => tx.setConfig(CARRY_KEY, { generation, carriedSince } satisfies CarryState));
  }

  /** The carry state of the committed generation (empty when the key was written for another). */
  private carryState(): CarryState {
    const s = this.pool.meta.getConfig<CarryState>(CARRY_KEY);
    return s ?? { generation: 0, carriedSince: {} };
  }

  /** Per inode, the first generation of the run of commits up to the committed one that carried its records. */
  private carriedSince(): Map<number, number> {
    const s = this.carryState();
    if (s.generation !== this.pool.meta.generation()) return new Map(); // written before commits that did not carry (offline ones)
    return new Map(Object.entries(s.carriedSince).map(([ino, g]) => [Number(ino), g]));
  }

  /** Disks for the next append: m+1 healthy, present disks, lowest ids first (the same ones while they last). */
  private targets(): number[] {
    const want = this.pool.policy.m + 1;
    const ids = this.placement.writable().map((d) => d.id).sort((a, b) => a - b).slice(0, want);
    if (ids.length < want) throw new DfsError('ENOTWRITABLE', `the intent log needs ${want} writable disks (m+1 for ${this.pool.policy.scheme}), the pool has ${ids.length}`);
    return ids;
  }

  /**
   * Append one fsync's entries (call inside exclusive): its name changes first, each
   * replayed on its own, then its file's records, replayed all or none. Durable on m+1
   * disks when this resolves. They apply on the generation committed now.
   */
  async append(entries: LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const generation = this.pool.meta.generation();
    const names = entries.filter((e) => e.name).length;
    if (entries.slice(0, names).some((e) => !e.name)) throw new DfsError('EINTERNAL', 'intent log: name changes must come before the file records');
    const records: LogRecord[] = entries.map((e, i) => ({ ...e, name: !!e.name, generation, seq: this.seq + i,
      part: e.name ? 0 : i - names, end: !!e.name || i === entries.length - 1, carry: false }));
    this.seq += records.length;
    // pool.json says the pool depends on its intent logs before the first record is written.
    this.pool.activateFeature('intent-log');
    await this.write(records);
    this.metrics.intentLogWrites.inc();
  }

  private async write(records: LogRecord[]): Promise<void> {
    const bytes = encodeRecords(this.poolId, records);
    const disks = this.targets();
    for (const id of disks) this.written.add(id);
    this.obsolete = false;
    this.bytesSinceReset += bytes.length;
    await Promise.all(disks.map((id) => this.pool.store(id).appendLog(bytes)));
    this.metrics.intentLogBytes.inc(bytes.length * disks.length);
  }

  /**
   * Every disk's log: the records replay must apply (the committed generation's, whole
   * fsyncs, in order) and which disks hold anything. A disk that cannot be read counts
   * as holding nothing: the copies are on m+1 disks.
   */
  async read(): Promise<{ records: LogRecord[]; disksWithLog: number[] }> {
    const perDisk: LogRecord[][] = [];
    const disksWithLog: number[] = [];
    await Promise.all(this.pool.disks().map(async (d) => {
      const raw = await this.pool.store(d.id).readLog().catch(() => Buffer.alloc(0));
      if (raw.length === 0) return;
      disksWithLog.push(d.id);
      const list = decodeRecords(this.poolId, raw);
      perDisk.push(list);
      // Sequence numbers never repeat in one log, even if an old record survived a reset.
      for (const r of list) this.seq = Math.max(this.seq, r.seq + 1);
    }));
    return { records: replayable(this.pool.meta.generation(), perDisk, this.carriedSince()), disksWithLog };
  }

  /** Whether any disk's log holds anything (what a crashed coordinator may have left). */
  async holdsAny(): Promise<boolean> {
    const sizes = await Promise.all(this.pool.disks().map((d) => this.pool.store(d.id).readLog().then((b) => b.length, () => 0)));
    return sizes.some((n) => n > 0);
  }

  /**
   * At shutdown, after the last group commit: logs whose records are all obsolete are
   * truncated, so the next open finds nothing to replay (a log kept allocated is not empty).
   */
  async close(): Promise<void> {
    if (this.obsolete) await this.reset(this.pool.disks().map((d) => d.id));
  }

  /** Empty these disks' logs (best effort: a stale record names an old generation and is never applied). */
  async reset(disks: number[], opts: { keepSpace?: boolean } = {}): Promise<void> {
    this.bytesSinceReset = 0;
    await Promise.all(disks.map(async (id) => {
      if (!this.pool.disk(id)) return;
      await this.pool.store(id).resetLog(opts).catch(() => undefined);
      this.written.delete(id);
    }));
  }
}
