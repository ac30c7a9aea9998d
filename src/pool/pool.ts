/**
 * A pool: the directory holding the superblock, the metadata store and the lock, plus
 * the disks registered in it. Opening a pool takes its exclusive lock; closing (or
 * dying) releases it.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../errors';
import { AuditLog, localIdentity } from '../log/audit';
import { warnOfDrops } from '../log/drop-warning';
import { eventSinkOf, type EventSink } from '../log/events';
import { silentLogger, type Logger } from '../log/logger';
import type { DiskRow, Tier } from '../meta/records';
import type { MetaStore, OpenMetaStore, RecordRef } from '../meta/store';
import type { FragmentStore } from './fragment-store';
import { openHealed, type HealReport } from './heal';
import { describeRef, healRecords, type RecordHeal } from './heal-records';
import { LocalDisk } from './local-disk';
import { LABEL_FORMAT, readLabel, writeLabel } from './label';
import type { Area } from './meta-area';
import type { Refusal } from './checkpoint-refusal';
import { MetaCopies } from './meta-copies';
import { PoolLock } from './pool-lock';
import { formatPolicy, parsePolicy, type Policy } from './policy';
import { allEnabled, LEGACY_FORMAT, legacyFeatures, type FeatureName, type FeatureState, type RecordedState } from './features';
import { hasIntentLog } from './local-disk';
import { POOL_FORMAT, readSuperblock, superblockPath, writeSuperblock, type Superblock } from './superblock';

export interface CreateOptions {
  policy?: string;
  extentSize?: number;
  inlineMax?: number;
}

/** 4 MiB extents: with rs:4+2 each fragment is 1 MiB, large enough that per-file costs
 * (create, fsync, rename ≈ 1 ms) stay small against the transfer, small enough that a
 * partial rewrite or a degraded read moves little. */
export const DEFAULT_EXTENT_SIZE = 4 * 1024 * 1024;
/** Extents this small would waste k+m padded 4 KiB fragments: they live inline in the metadata store. */
export const DEFAULT_INLINE_MAX = 16 * 1024;
export const DEFAULT_POLICY = 'rs:4+2';

export const TIERS: readonly Tier[] = ['hot', 'warm', 'cold'];

export class Pool {
  private stores = new Map<number, FragmentStore>();
  /** Wraps every store handed out (the engine's metrics decorator); identity until set. */
  private decorate: (s: FragmentStore) => FragmentStore = (s) => s;

  /** The metadata's copies on the disks (meta-copies.ts). */
  readonly copies: MetaCopies;
  /** POOL/run/events.jsonl: job transitions, repairs, heals, scrub findings (log/events.ts); events it drops are warned of in the pool's log. */
  readonly events: EventSink;

  private constructor(
    readonly dir: string,
    readonly superblock: Superblock,
    readonly meta: MetaStore,
    private readonly lock: PoolLock,
    /** How the store is opened: heal-records.ts opens a scratch one the same way. */
    private readonly openStore: OpenMetaStore,
    log: Logger,
    areas: readonly Area[] = [],
  ) {
    this.copies = new MetaCopies(dir, superblock, meta, log, areas, (r) => this.recordRefusal(r),
      { uses: () => this.usesFeature('metadata-copies'), activate: () => this.activateFeature('metadata-copies') });
    this.events = eventSinkOf(dir);
    warnOfDrops(this.events, log);
  }

  /** Create a new pool in `dir` (which must not exist, or be empty), its metadata store made by `openStore`. */
  static create(dir: string, openStore: OpenMetaStore, opts: CreateOptions = {}): Pool {
    const abs = path.resolve(dir);
    const policy = formatPolicy(parsePolicy(opts.policy ?? DEFAULT_POLICY));
    const extentSize = opts.extentSize ?? DEFAULT_EXTENT_SIZE;
    if (!Number.isInteger(extentSize) || extentSize < 65536 || extentSize > 256 * 1024 * 1024 || extentSize % 4096 !== 0) {
      throw new DfsError('EINVAL', `extent size ${extentSize}: use a multiple of 4096 from 65536 to 268435456 bytes (default ${DEFAULT_EXTENT_SIZE})`);
    }
    if (fs.existsSync(superblockPath(abs))) {
      throw new DfsError('EPOOLEXISTS', `${abs} is already a DynamicFS pool; open it, or choose another directory`, abs);
    }
    if (fs.existsSync(abs)) {
      if (!fs.statSync(abs).isDirectory()) throw new DfsError('ENOTDIR', `${abs} exists and is not a directory`, abs);
      if (fs.readdirSync(abs).length > 0) throw new DfsError('EEXIST', `${abs} is not empty; a pool needs an empty or new directory`, abs);
    }
    fs.mkdirSync(path.join(abs, 'run'), { recursive: true });
    const lock = PoolLock.acquire(abs);
    try {
      const meta = openStore(abs, { create: true });
      const sb: Superblock = { format: POOL_FORMAT, uuid: randomUUID(), createdMs: Date.now(), policy, extentSize,
        inlineMax: opts.inlineMax ?? DEFAULT_INLINE_MAX, diskPaths: [], features: allEnabled() };
      // The superblock is written last: a crash before this leaves no pool, not half of one.
      writeSuperblock(abs, sb);
      return new Pool(abs, sb, meta, lock, openStore, silentLogger());
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /**
   * Open the pool in `dir` (taking its lock) with the metadata store `openStore` opens
   * there, healed from the disks' copies when it is missing, damaged or behind (heal.ts).
   */
  static open(dir: string, openStore: OpenMetaStore, log: Logger = silentLogger()): Pool {
    const abs = path.resolve(dir);
    if (!fs.existsSync(abs)) throw new DfsError('ENOTPOOL', `pool ${abs} does not exist; create it with \`dynamicfs init ${dir}\``, abs);
    const sb = readSuperblock(abs);
    const lock = PoolLock.acquire(abs);
    let meta: MetaStore | undefined;
    try {
      const opened = openHealed(abs, sb.uuid, openStore, () => sb.diskPaths);
      meta = opened.meta;
      if (sb.format === LEGACY_FORMAT) sb.features = inferLegacy(sb, meta, opened.areas);
      const pool = new Pool(abs, sb, meta, lock, openStore, log, opened.areas);
      if (opened.healed) pool.recordHeal(opened.healed, log);
      pool.syncDiskPaths();
      return pool;
    } catch (err) {
      meta?.close();
      lock.release();
      throw err;
    }
  }

  close(): void {
    for (const s of this.stores.values()) s.close();
    this.copies.close();
    this.meta.close();
    this.lock.release();
  }

  /** The heal goes to the log, the audit log (when the pool keeps one) and the event history of the disk it came from. */
  private recordHeal(h: HealReport, log: Logger): void {
    log.warn({ ...h }, 'metadata rebuilt from the disks');
    const disks = this.disks();
    const disk = disks.find((d) => d.path === h.checkpointDisk) ?? disks[0];
    const what = `metadata rebuilt from the disks: ${h.reason}; now generation ${h.generation} (${h.checkpointDisk ? `checkpoint of ${h.checkpointDisk}, ` : ''}${h.replayed} generations replayed)`;
    if (disk) this.meta.transact((tx) => tx.setDiskState(disk.id, disk.state, 'pool', what));
    this.events.record({ kind: 'heal', subject: 'meta.db', message: what, details: { ...h } });
    const audit = new AuditLog(path.join(this.dir, 'run', 'audit.log'));
    if (fs.existsSync(audit.file)) {
      audit.record({ via: 'local', who: localIdentity(), op: 'heal-metadata', args: { ...h }, result: 'ok', ms: 0 });
    }
  }

  /**
   * A checkpoint refused for damaged rows (checkpoint-refusal.ts) goes to each disk's event
   * history and the audit log, like a heal; once per reason (each open of the pool tries again).
   */
  private recordRefusal(r: Refusal): void {
    const fresh = r.diskIds.filter((id) => this.meta.diskEvents(id).at(-1)?.reason !== r.reason);
    if (fresh.length === 0) return;
    this.meta.transact((tx) => {
      for (const id of fresh) tx.setDiskState(id, this.meta.getDisk(id)!.state, 'pool', r.reason);
    });
    const audit = new AuditLog(path.join(this.dir, 'run', 'audit.log'));
    if (fs.existsSync(audit.file)) {
      audit.record({ via: 'local', who: localIdentity(), op: 'refuse-checkpoint', args: { ...r, diskIds: fresh }, result: 'EMETACORRUPT', ms: 0, error: r.reason });
    }
  }

  /**
   * Put back records of meta.db that fail their checksum from the disks' copies of its
   * generation (heal-records.ts), once no copy is being written (in a coordinator).
   */
  async healRecords(refs: readonly RecordRef[], reqId?: string): Promise<RecordHeal> {
    const heal = await this.copies.quiet(() => healRecords(this.dir, this.superblock.uuid, this.meta, this.openStore, this.disks().map((d) => d.path), refs));
    if (heal.ok && heal.outcomes.some((o) => o.state === 'restored')) this.copies.healed();
    // Each record put back, or found beyond the copies, is a heal event (one that was sound by then is not).
    if (!heal.ok) return heal;
    for (const o of heal.outcomes) {
      if (o.state === 'sound') continue;
      const what = describeRef(o.ref);
      this.events.record({ kind: 'heal', subject: what,
        message: o.state === 'restored' ? `restored ${what} from ${heal.source}` : `could not restore ${what}: ${o.why}`,
        details: { state: o.state, ...(o.state === 'restored' ? { source: heal.source } : { why: o.why }) }, reqId });
    }
    return heal;
  }

  /** pool.json lists the registry's disk paths (where heal looks when meta.db is lost). */
  private syncDiskPaths(): void {
    const paths = this.disks().map((d) => d.path);
    if (paths.join('\n') === this.superblock.diskPaths.join('\n')) return;
    this.superblock.diskPaths.splice(0, this.superblock.diskPaths.length, ...paths);
    writeSuperblock(this.dir, this.superblock);
  }

  /** A feature's state on this pool (features.ts): disabled, enabled or active. */
  feature(name: FeatureName): FeatureState {
    return this.superblock.features[name] ?? 'disabled';
  }

  /** Whether this pool may use the feature (enabled or active). */
  usesFeature(name: FeatureName): boolean {
    return this.feature(name) !== 'disabled';
  }

  /**
   * The pool's structures are about to depend on an enabled feature: recorded active in
   * pool.json (durably) before they do. Once per feature; a format-1 pool keeps its file
   * as it is (its features are inferred at each open).
   */
  activateFeature(name: FeatureName): void {
    if (this.feature(name) !== 'enabled') return;
    this.superblock.features[name] = 'active';
    if (this.superblock.format !== LEGACY_FORMAT) writeSuperblock(this.dir, this.superblock);
  }

  /**
   * The upgrade's final commit: pool.json records the current format and `features`,
   * written durably in one rename (before it, the pool is in its old format).
   */
  commitFormat(features: Record<string, RecordedState>): void {
    const next: Superblock = { ...this.superblock, format: POOL_FORMAT, features: { ...features } };
    writeSuperblock(this.dir, next);
    this.superblock.format = next.format;
    this.superblock.features = next.features;
  }

  get policy(): Policy {
    return parsePolicy(this.superblock.policy);
  }

  disks(): DiskRow[] {
    return this.meta.listDisks();
  }

  /** One registered disk, or undefined (one row read, not the whole table). */
  disk(id: number): DiskRow | undefined {
    return this.meta.getDisk(id);
  }

  store(diskId: number): FragmentStore {
    let s = this.stores.get(diskId);
    if (!s) {
      const row = this.disk(diskId);
      if (!row) throw new DfsError('ENOENT', `disk ${diskId} is not in pool ${this.dir}`);
      s = this.decorate(new LocalDisk(row.id, row.path));
      this.stores.set(diskId, s);
    }
    return s;
  }

  /** Replace how a disk is reached (tests wrap stores to inject faults). */
  setStore(diskId: number, store: FragmentStore): void {
    this.stores.set(diskId, this.decorate(store));
  }

  /** Wrap every store, those made already and those to come, in `fn` (once per pool: the engine does it). */
  decorateStores(fn: (s: FragmentStore) => FragmentStore): void {
    const previous = this.decorate;
    this.decorate = (s) => fn(previous(s));
    for (const [id, s] of this.stores) this.stores.set(id, fn(s));
  }

  /**
   * Label `dir` and register it (its first event carries `reqId`, the admin request that
   * asked). Refuses, changing nothing, anything that is not a usable empty slot.
   */
  addDisk(dir: string, tier: Tier = 'warm', reqId?: string): DiskRow {
    const abs = path.resolve(dir);
    if (!TIERS.includes(tier)) throw new DfsError('EINVAL', `tier "${tier}" is not one of ${TIERS.join(', ')}`);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      throw new DfsError('ENOENT', `disk directory ${abs} does not exist; create it (or mount the disk) first`, abs);
    }
    if (!st.isDirectory()) throw new DfsError('ENOTDIR', `${abs} is not a directory`, abs);
    if (abs === this.dir || abs.startsWith(this.dir + path.sep)) {
      throw new DfsError('EINVAL', `${abs} is inside the pool directory ${this.dir}; a disk must be a directory of its own`, abs);
    }
    const label = readLabel(abs);
    if (label) {
      if (label.poolUuid === this.superblock.uuid) throw new DfsError('EDISKINUSE', `${abs} is already a disk of this pool`, abs);
      throw new DfsError('EDISKINUSE', `${abs} belongs to another DynamicFS pool (${label.poolUuid}); remove it from that pool first`, abs);
    }
    if (this.disks().some((d) => d.path === abs)) throw new DfsError('EDISKINUSE', `${abs} is already a disk of this pool`, abs);
    probeWritable(abs);
    const diskUuid = randomUUID();
    const now = Date.now();
    writeLabel(abs, { format: LABEL_FORMAT, poolUuid: this.superblock.uuid, diskUuid, createdMs: now });
    try {
      const id = this.meta.transact((tx) => tx.addDisk({ uuid: diskUuid, path: abs, tier, state: 'healthy', addedMs: now }, reqId));
      const row = this.disk(id)!;
      this.syncDiskPaths();
      this.copies.diskAdded(row);
      return row;
    } catch (err) {
      fs.rmSync(path.join(abs, 'dynamicfs.label'), { force: true });
      throw err;
    }
  }

  /**
   * Unregister a disk that holds no fragment (drain it first) and drop its label, so the
   * directory can be reused. Refuses, changing nothing, while any fragment remains.
   * Its last event carries `reqId`, the admin request (or the job's) that removed it.
   */
  removeDisk(diskId: number, reqId?: string): DiskRow {
    const row = this.disk(diskId);
    if (!row) throw new DfsError('ENOENT', `disk ${diskId} is not in pool ${this.dir}; \`dynamicfs disks\` lists them`);
    const left = this.meta.extentsOnDisk(diskId).length;
    if (left > 0) {
      throw new DfsError('EDISKINUSE', `disk ${diskId} (${row.path}) still holds fragments of ${left} extents; ` +
        `move them off first with \`dynamicfs drain ${this.dir} ${diskId}\``, row.path, { extents: left });
    }
    this.meta.transact((tx) => {
      tx.setDiskState(diskId, row.state, 'operator', 'removed from the pool', reqId);
      tx.removeDisk(diskId);
    });
    this.stores.get(diskId)?.close();
    this.stores.delete(diskId);
    this.syncDiskPaths();
    this.copies.diskRemoved(diskId, row.path);
    const label = readLabelQuietly(row.path);
    if (label?.diskUuid === row.uuid) fs.rmSync(path.join(row.path, 'dynamicfs.label'), { force: true });
    return row;
  }
}

/** A format-1 pool's features, from what its structures show (features.ts legacyFeatures). */
function inferLegacy(sb: Superblock, meta: MetaStore, areas: readonly Area[]): Record<string, RecordedState> {
  const disks = meta.listDisks();
  return legacyFeatures({
    legacyAreas: areas.some((a) => a.head.poolUuid === sb.uuid && a.head.superblock.format === LEGACY_FORMAT),
    packs: meta.sparsePackTotals(1).packs > 0,
    intentLogs: disks.some((d) => hasIntentLog(d.path)),
  });
}

function readLabelQuietly(dir: string): ReturnType<typeof readLabel> | undefined {
  try {
    return readLabel(dir);
  } catch {
    return undefined;
  }
}

function probeWritable(dir: string): void {
  const probe = path.join(dir, `.dynamicfs-probe-${process.pid}`);
  try {
    fs.writeFileSync(probe, 'probe');
    fs.rmSync(probe);
  } catch (err) {
    throw new DfsError('ENOTWRITABLE', `disk directory ${dir} is not writable (${(err as NodeJS.ErrnoException).code}); fix its permissions or mount it read-write`, dir);
  }
}
