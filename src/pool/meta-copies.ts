/**
 * The pool's metadata, durable on its disks: every committed generation's record is
 * appended to the log of every disk whose copy is current, and a generation counts as
 * committed once at least min(m+1, disks that can take it) hold it (m: the parity of the
 * pool's policy). A disk whose copy is missing or behind gets a fresh checkpoint (at open
 * and offline at once; in a coordinator in the background) and counts only after it.
 * Without groups (offline CLI) appends are synchronous with each commit; in a coordinator
 * they run in parallel and the group's commit waits for the first m+1 (durable()): those
 * fdatasync every record, the others every LAZY_SYNC_EVERY generations (a crash may leave
 * them behind, and a copy behind is brought up to date on open).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../errors';
import type { Logger } from '../log/logger';
import type { DiskRow } from '../meta/records';
import type { MetaStore } from '../meta/store';
import { blake3Async } from '../native';
import { appendAsync, appendSync, areaDir, syncFile, syncFileSync, checkpointName, dropStrays, openLog, putCheckpointAsync, putCheckpointSync, readArea, sealCheckpoint,
  switchHead, type Area, type Checkpoint } from './meta-area';
import { CheckpointRefusals, type Refusal } from './checkpoint-refusal';
import { inspectCopy, type CopyFinding } from './meta-check';
import { copyStatus, present, type Copy, type CopyStatus } from './meta-copy';
import { chainAt } from './meta-chain';
import { encodeRecord, NO_CHAIN, RECORD_HASH } from './meta-format';
import { parsePolicy } from './policy';
import type { HeadSuperblock } from './meta-format';
import type { Superblock } from './superblock';

/** The metadata-copies feature as the pool holds it (features.ts): whether copies are kept, and marking it active. */
export interface CopiesFeature {
  uses(): boolean;
  activate(): void;
}

/** A log this long starts a new checkpoint (replay time on open stays bounded). */
export const LOG_MAX_BYTES = 64 * 1024 * 1024;
export const LOG_MAX_RECORDS = 10_000;
/** In a coordinator, copies past the first m+1 fdatasync their log every this many generations (see generation()). */
const LAZY_SYNC_EVERY = 16;

export class MetaCopies {
  private readonly copies = new Map<number, Copy>();
  /** A coordinator's groups: appends run asynchronously and commits wait in durable(). */
  private deferred = false;
  private readonly inflight = new Map<number, Promise<unknown>>();
  /** Per generation being appended: resolves once enough copies (required()) have landed, or all have settled. */
  private readonly landing = new Map<number, Promise<void>>();
  private background: Promise<void> | undefined;
  /** While a background checkpoint is written: the records of the generations committed meanwhile (its new logs start with them). */
  private recent: Map<number, Buffer> | undefined;
  private scratchFiles = 0;
  /** The hash chain's value at the store's generation: the seal of its record, which the next record carries. */
  private chain: Buffer;
  private closed = false;
  /** Checkpoints whose copy held damaged rows are not sealed (checkpoint-refusal.ts). */
  private readonly refusals: CheckpointRefusals;
  /** Copies are kept: the feature is on, or an upgrade is turning it on (start()). Off, the pool is as before the feature: meta.db alone. */
  private on: boolean;
  /** While an upgrade runs: the superblock its heads carry (the pool's as it will be once the upgrade commits). */
  private headSb: HeadSuperblock | undefined;

  /** `known`: the disks' areas as opening the pool just read them (each is read once per open); `refused`: records a refused checkpoint. */
  constructor(private readonly poolDir: string, private readonly sb: Superblock, private readonly meta: MetaStore,
    private readonly log: Logger, known: readonly Area[] = [], refused: (r: Refusal) => void = () => {},
    private readonly feature: CopiesFeature = { uses: () => true, activate: () => {} }) {
    this.refusals = new CheckpointRefusals(poolDir, log, refused);
    this.on = feature.uses();
    // Off, areas on the disks (an upgrade's, interrupted before its commit) are not this pool's copies: no chain from them.
    this.chain = chainAt(this.on ? known : [], meta.generation());
    const areas = new Map(known.map((a) => [a.root, a]));
    if (this.on) for (const row of meta.listDisks()) this.copies.set(row.id, this.load(row, areas.get(row.path)));
    meta.onGeneration = (g, payload) => this.generation(g, payload);
    this.checkpoint(this.stalePresent());
  }

  /** Whether copies are kept (status shows none when not). */
  get keeping(): boolean {
    return this.on;
  }

  /**
   * Start keeping copies (an upgrade enabling the feature): every registered disk gets a
   * fresh checkpoint now, its head carrying `headSb`; what each got, as renew() says.
   */
  async start(headSb: HeadSuperblock): Promise<Map<number, { generation: number | null; error: string | null }>> {
    this.on = true;
    this.headSb = headSb;
    for (const row of this.meta.listDisks()) if (!this.copies.has(row.id)) this.copies.set(row.id, this.load(row, undefined));
    return this.renew([...this.copies.keys()]);
  }

  /** The upgrade committed: heads from now on carry the pool's own superblock. */
  endUpgrade(): void {
    this.headSb = undefined;
  }

  /**
   * Stop keeping copies and remove every disk's area (an upgrade rolled back: the pool is
   * as it was, meta.db alone): those this process wrote, and those a killed upgrade left
   * on the registered disks (not this pool's copies while the feature is off, but stale
   * ones `import` would find).
   */
  async stop(): Promise<void> {
    await this.whenQuiet(() => {
      this.on = false;
      this.headSb = undefined;
      for (const c of this.copies.values()) this.retire(c);
      const roots = new Set([...[...this.copies.values()].map((c) => c.root), ...this.meta.listDisks().map((d) => d.path)]);
      for (const root of roots) fs.rmSync(areaDir(root), { recursive: true, force: true });
      this.copies.clear();
    });
  }

  /**
   * Groups on (a coordinator) or off. On, a generation counts once the disks hold it
   * (durable()), so meta.db's COMMIT need not sync: a crash that loses its last commits
   * is healed from the disks on open (heal.ts), as for any stale meta.db.
   */
  setDeferred(on: boolean): void {
    this.deferred = on;
    this.meta.setDurableCommits(!on);
  }

  /** Copies a generation needs: m+1, or every disk that can take one when fewer can. */
  required(): number {
    const canTake = [...this.copies.values()].filter((c) => c.next !== undefined || present(c)).length;
    return Math.min(parsePolicy(this.sb.policy).m + 1, canTake);
  }

  /** A disk was registered: it gets its first checkpoint (now offline, soon in a coordinator). */
  diskAdded(row: DiskRow): void {
    if (!this.on) return;
    this.copies.set(row.id, this.load(row, undefined));
    if (this.deferred) void this.inBackground(() => this.checkpointInBackground(this.stalePresent()));
    else this.checkpoint(this.stalePresent());
  }

  /** A disk left the pool: its area goes with its label, so the directory can be reused. */
  diskRemoved(id: number, root: string): void {
    const c = this.copies.get(id);
    if (c) this.retire(c);
    this.copies.delete(id);
    fs.rmSync(areaDir(root), { recursive: true, force: true });
  }

  /** Resolves once generation `g` is on enough disks; rejects (EMETACOPIES) when it cannot be. */
  async durable(g: number): Promise<void> {
    // The first m+1 copies make it count; the slower disks' appends go on behind (a failure there marks that copy stale).
    await (this.landing.get(g) ?? this.inflight.get(g));
    if (this.copiesOf(g) < this.required()) await this.syncLazy(g);
    if (this.copiesOf(g) < this.required()) this.checkpoint(this.stalePresent());
    this.enough(g);
    // No disk can take a copy (a pool without disks): meta.db is the only one, and its COMMIT did not sync.
    if (this.copiesOf(g) === 0) this.meta.makeDurable();
    this.upkeep();
  }

  /** Each present disk's copy as `check` sees it, read once the appends under way have landed (none is read half-written). */
  async inspect(): Promise<{ diskId: number; path: string; findings: CopyFinding[] }[]> {
    return this.whenQuiet(() => [...this.copies.values()].filter((c) => present(c))
      .map((c) => ({ diskId: c.id, path: c.root, findings: inspectCopy(c.root, this.sb.uuid, c.uuid, this.meta.generation(), this.chain) })));
  }

  /** Give the copies on disks `ids` a fresh checkpoint of the store's last commit, as a stale disk gets; what each got. */
  async renew(ids: readonly number[]): Promise<Map<number, { generation: number | null; error: string | null }>> {
    const targets = [...this.copies.values()].filter((c) => ids.includes(c.id));
    const before = new Map(targets.map((c) => [c, c.serial]));
    if (this.deferred) await this.inBackground(() => this.checkpointInBackground(targets, true));
    else this.checkpoint(targets, true);
    return new Map(targets.map((c) => [c.id, c.serial !== before.get(c)
      ? { generation: c.checkpointGeneration, error: null }
      : { generation: null, error: c.lastError ?? 'the pool closed first' }]));
  }

  /** Records of meta.db were restored (heal-records.ts): a checkpoint refused for them is tried again at the next chance. */
  healed(): void {
    this.refusals.healed();
  }

  status(): CopyStatus[] {
    const nowMs = Date.now();
    return [...this.copies.values()].map((c) => copyStatus(c, nowMs));
  }

  /** Stop: no more appends or checkpoints. */
  close(): void {
    this.closed = true;
    this.meta.onGeneration = undefined;
    // Not needed for a generation to count; it leaves every copy current after a clean stop.
    for (const c of this.copies.values()) {
      try {
        if (c.unsyncedFrom !== undefined) syncFileSync(c.log!);
      } catch {
        // Behind on disk then: the next open brings it up to date.
      }
    }
    for (const c of this.copies.values()) this.retire(c);
  }

  /** Called at every COMMIT (meta.onGeneration). */
  private generation(g: number, payload: Buffer): void {
    const record = encodeRecord(this.sb.uuid, g, this.chain, payload);
    this.chain = Buffer.from(record.subarray(record.length - RECORD_HASH));
    this.recent?.set(g, record);
    if (!this.deferred) {
      for (const c of this.copies.values()) {
        if (c.next !== g) continue;
        try {
          appendSync(c.log!, c.logBytes, record);
          this.appended(c, g, record.length);
        } catch (err) {
          this.stale(c, err);
        }
      }
      if (this.copiesOf(g) < this.required()) this.checkpoint(this.stalePresent());
      this.enough(g);
      if (this.tooLong()) this.checkpoint(this.presentCopies());
      return;
    }
    const parts: Promise<void>[] = [];
    const need = this.required();
    let landed = 0;
    let enough!: () => void;
    const landing = new Promise<void>((resolve) => { enough = resolve; });
    // The first m+1 copies (by disk id) sync every record: the generation counts once they
    // have it. The others sync every LAZY_SYNC_EVERY generations, or when the first ones
    // fail (durable()); a crash may leave them behind, and a copy behind is brought up to date on open.
    const targets = [...this.copies.values()].filter((c) => c.next === g).sort((a, b) => a.id - b.id);
    for (const [i, c] of targets.entries()) {
      const sync = i < need || g % LAZY_SYNC_EVERY === 0;
      const { epoch, log } = c;
      const at = c.logBytes;
      c.next = g + 1;
      c.logBytes += record.length;
      c.logRecords += 1;
      const p = c.chain.then(async () => {
        if (c.epoch !== epoch) return;
        try {
          const allocated = await appendAsync(log!, at, record, c.allocated, sync);
          if (c.epoch === epoch) {
            c.upTo = g;
            c.allocated = allocated;
            if (sync) c.unsyncedFrom = undefined;
            else c.unsyncedFrom ??= g;
            if (sync && ++landed >= need) enough();
          }
        } catch (err) {
          if (c.epoch === epoch) this.stale(c, err);
        }
      });
      c.chain = p;
      parts.push(p);
    }
    const all = Promise.all(parts).finally(() => {
      this.inflight.delete(g);
      this.landing.delete(g);
      enough();
    });
    this.inflight.set(g, all);
    this.landing.set(g, landing);
  }

  private appended(c: Copy, g: number, bytes: number): void {
    c.next = g + 1;
    c.upTo = g;
    c.logBytes += bytes;
    c.allocated = Math.max(c.allocated, c.logBytes);
    c.logRecords += 1;
  }

  private copiesOf(g: number): number {
    return [...this.copies.values()].filter((c) => c.upTo >= g && (c.unsyncedFrom === undefined || c.unsyncedFrom > g)).length;
  }

  /** fdatasync the copies that hold generation `g` unsynced (the ones that sync each record failed). */
  private async syncLazy(g: number): Promise<void> {
    await this.inflight.get(g);
    await Promise.all([...this.copies.values()].filter((c) => c.upTo >= g && c.unsyncedFrom !== undefined).map(async (c) => {
      const { epoch, log } = c;
      try {
        await syncFile(log!);
        if (c.epoch === epoch) c.unsyncedFrom = undefined;
      } catch (err) {
        if (c.epoch === epoch) this.stale(c, err);
      }
    }));
  }

  private enough(g: number): void {
    const have = this.copiesOf(g);
    const need = this.required();
    if (have >= need) return;
    const failed = [...this.copies.values()].filter((c) => c.upTo < g).map((c) => `disk ${c.id} (${c.root}${c.lastError ? `: ${c.lastError}` : ''})`);
    throw new DfsError('EMETACOPIES', `metadata generation ${g} is on ${have} disk(s), the pool needs ${need} (parity + 1) before it `
      + `counts as committed; it could not be written to ${failed.join(', ')}. Bring those disks back or replace them `
      + '(`dynamicfs disks`, `dynamicfs replace-disk`), then retry; meta.db holds the change, the disks will get it once they can.',
    undefined, { generation: g, copies: have, required: need });
  }

  /** After a group: stale disks that are back, and logs past their bound, get a checkpoint in the background. */
  private upkeep(): void {
    if (this.background) return;
    const stale = this.stalePresent();
    if (stale.length === 0 && !this.tooLong()) return;
    void this.inBackground(() => this.checkpointInBackground(this.tooLong() ? this.presentCopies() : this.stalePresent()));
  }

  /** Run `fn` once every append and checkpoint under way has landed, with nothing committing in between (heal-records.ts). */
  quiet<T>(fn: () => T): Promise<T> {
    return this.whenQuiet(fn);
  }

  /** Run `fn` once no append or checkpoint is under way (nothing runs between that and `fn`: it is synchronous). */
  private async whenQuiet<T>(fn: () => T): Promise<T> {
    for (;;) {
      const bg = this.background;
      const copies = [...this.copies.values()];
      const chains = copies.map((c) => c.chain);
      await Promise.all([bg, ...chains]);
      const now = [...this.copies.values()];
      if (this.background === bg && now.length === copies.length && now.every((c, i) => c === copies[i] && c.chain === chains[i])) return fn();
    }
  }

  /** Queue `fn` after the background work before it; resolves when it is done (its failure is logged, not thrown). */
  private inBackground(fn: () => Promise<void>): Promise<void> {
    const run = (this.background ?? Promise.resolve()).then(fn).catch((err: unknown) => {
      this.log.warn({ err }, 'metadata checkpoint failed');
    }).finally(() => {
      if (this.background === run) this.background = undefined;
    });
    this.background = run;
    return run;
  }

  private tooLong(): boolean {
    return [...this.copies.values()].some((c) => c.next !== undefined && (c.logBytes > LOG_MAX_BYTES || c.logRecords > LOG_MAX_RECORDS));
  }

  private stalePresent(): Copy[] {
    return [...this.copies.values()].filter((c) => c.next === undefined && present(c));
  }

  private presentCopies(): Copy[] {
    return [...this.copies.values()].filter((c) => c.next !== undefined || present(c));
  }

  /**
   * Write one checkpoint of the store's last commit to each of `targets`, synchronously:
   * no commit can fall between the copy and the switch of their logs. At open, offline,
   * and when a group lacks copies.
   */
  private checkpoint(targets: Copy[], forced = false): void {
    if (targets.length === 0 || this.closed || !this.refusals.mayTry(forced)) return;
    this.feature.activate();
    const tmp = this.scratch();
    let ckpt: Checkpoint;
    try {
      const copy = this.meta.copyTo(tmp);
      if (!this.refusals.accept(copy, targets)) return;
      const { generation } = copy;
      // The copy is of the last COMMIT, whose record's seal is the chain's value now.
      ckpt = sealCheckpoint(generation, fs.readFileSync(tmp), generation === this.meta.generation() ? this.chain : NO_CHAIN);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    for (const c of targets) {
      const file = checkpointName(ckpt.generation);
      try {
        putCheckpointSync(c.root, file, ckpt);
      } catch (err) {
        this.stale(c, err);
        continue;
      }
      this.switchTo(c, ckpt, file, []);
    }
  }

  /**
   * The same in a coordinator, off its thread: the store is copied in a worker, hashed and
   * written to the disks asynchronously while groups go on committing (current targets
   * keep taking their records); then, synchronously, each target's new log starts with the
   * records committed meanwhile and its head is switched.
   */
  private async checkpointInBackground(targets: Copy[], forced = false): Promise<void> {
    if (targets.length === 0 || this.closed || !this.refusals.mayTry(forced)) return;
    this.feature.activate();
    const serials = new Map(targets.map((c) => [c, c.serial]));
    const [startGeneration, startChain] = [this.meta.generation(), this.chain];
    const tmp = this.scratch();
    this.recent = new Map();
    try {
      let ckpt: Checkpoint;
      try {
        const copy = await this.meta.copyToInWorker(tmp);
        if (this.closed || !this.refusals.accept(copy, targets)) return;
        const { generation } = copy;
        const data = await fs.promises.readFile(tmp);
        const chain = generation === startGeneration ? startChain : this.kept(generation, generation).subarray(-RECORD_HASH);
        ckpt = sealCheckpoint(generation, data, chain, await blake3Async(data));
      } catch (err) {
        for (const c of targets) c.lastError = (err as Error).message;
        throw err;
      }
      // The pool closed meanwhile (its lock may be another's by now): nothing more is written.
      if (this.closed) return;
      const files = new Map<Copy, string>();
      await Promise.all(targets.map(async (c) => {
        const file = checkpointName(ckpt.generation);
        try {
          await putCheckpointAsync(c.root, file, ckpt);
          files.set(c, file);
        } catch (err) {
          this.stale(c, err);
        }
      }));
      if (this.closed) return;
      // Synchronous from here: no commit falls between the records taken and the logs switched.
      const newest = this.meta.generation();
      const records: Buffer[] = [];
      for (let g = ckpt.generation + 1; g <= newest; g++) records.push(this.kept(g, ckpt.generation));
      for (const [c, file] of files) {
        // Removed meanwhile, or another checkpoint landed first (the one at open, or a group lacking copies): this one is not needed.
        if (this.copies.get(c.id) !== c || c.serial !== serials.get(c)) fs.rmSync(path.join(areaDir(c.root), file), { force: true });
        else this.switchTo(c, ckpt, file, records);
      }
    } finally {
      this.recent = undefined;
      await fs.promises.rm(tmp, { force: true });
    }
  }

  /** The record of generation `g`, committed during the background checkpoint of `of`. */
  private kept(g: number, of: number): Buffer {
    const r = this.recent?.get(g);
    if (!r) throw new DfsError('EINTERNAL', `metadata generation ${g}, committed during a checkpoint of ${of}, was not kept for it`);
    return r;
  }

  /** Make checkpoint `ckpt`, written as `file`, the copy's, its log holding `records` (the generations after it): the copy is current. */
  private switchTo(c: Copy, ckpt: Checkpoint, file: string, records: readonly Buffer[]): void {
    this.retire(c);
    const upTo = ckpt.generation + records.length;
    try {
      const { head, logBytes } = switchHead(c.root, { poolUuid: this.sb.uuid, diskUuid: c.uuid, sb: this.headSb ?? this.sb }, ckpt, file, records, Date.now());
      c.log = openLog(c.root, head, logBytes);
      Object.assign(c, { next: upTo + 1, upTo, seen: upTo, logBytes, allocated: logBytes, logRecords: records.length, checkpointGeneration: ckpt.generation,
        checkpointMs: head.checkpoint.writtenMs, lastError: null, serial: c.serial + 1 });
      this.log.info({ disk: c.id, generation: ckpt.generation, records: records.length }, 'metadata checkpoint written');
    } catch (err) {
      this.stale(c, err);
    }
  }

  /** A file in POOL/run/ for a copy of the store (a background checkpoint and one at once may overlap). */
  private scratch(): string {
    const run = path.join(this.poolDir, 'run');
    fs.mkdirSync(run, { recursive: true });
    const tmp = path.join(run, `checkpoint-${process.pid}-${++this.scratchFiles}.db`);
    fs.rmSync(tmp, { force: true });
    return tmp;
  }

  /** The copy's state as its area says: current when it holds exactly the store's generation. */
  private load(row: DiskRow, known: Area | undefined): Copy {
    const c: Copy = { id: row.id, root: row.path, uuid: row.uuid, log: undefined, next: undefined, upTo: -1, unsyncedFrom: undefined, seen: null, logBytes: 0,
      allocated: 0, logRecords: 0, checkpointGeneration: null, checkpointMs: null, serial: 0, epoch: 0, chain: Promise.resolve(), lastError: null };
    const area = present(c) ? known ?? readArea(row.path, this.sb.uuid) : undefined;
    if (!area || area.head.diskUuid !== row.uuid) return c;
    Object.assign(c, { seen: area.newest, checkpointGeneration: area.head.checkpoint.generation, checkpointMs: area.head.checkpoint.writtenMs });
    if (area.newest !== this.meta.generation()) return c;
    if (!area.seal.equals(this.chain)) {
      // Its generation, another history: it went on elsewhere while away. Stale; the checkpoint at open replaces it.
      this.stale(c, new Error(`diverged: holds generation ${area.newest}, but its hash chain differs from the other disks'`));
      return c;
    }
    try {
      c.log = openLog(row.path, area.head, area.logEnd);
    } catch (err) {
      this.stale(c, err);
      return c;
    }
    Object.assign(c, { next: area.newest + 1, upTo: area.newest, logBytes: area.logEnd, allocated: area.logEnd, logRecords: area.records.length });
    // A checkpoint a crash left unfinished (its head never switched) is not the copy's: it goes.
    const strays = dropStrays(row.path, area.head);
    if (strays.length > 0) this.log.info({ disk: row.id, files: strays }, 'metadata area: files no head names removed');
    return c;
  }

  private stale(c: Copy, err: unknown): void {
    c.lastError = (err as Error).message;
    this.log.warn({ disk: c.id, err: c.lastError }, 'metadata copy on disk is stale');
    this.retire(c);
  }

  /** Stop appending to the copy's log (queued appends drop out). */
  private retire(c: Copy): void {
    c.unsyncedFrom = undefined;
    c.epoch += 1;
    c.next = undefined;
    c.upTo = -1;
    c.log = undefined;
  }
}
