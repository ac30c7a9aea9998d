/**
 * Transaction groups: durability in batches, as ext4's journal and ZFS's txgs do it.
 *
 * While groups are on (a mounted pool), every metadata transaction joins one open
 * group (a savepoint of one SQLite transaction) and fragment files are written without
 * their own fsyncs. A group commits at most every `intervalMs`, when the bytes written
 * since the last commit pass `dirtyMaxBytes`, on fsync/sync, and on shutdown:
 *   0. the packs small files were appended to are written (packer.ts) and recorded;
 *   1. every disk written to since the last commit is synced once (syncfs);
 *   2. one COMMIT records everything and bumps the generation;
 *   2b. the generation's record is written to the pool's disks (pool/meta-copies.ts):
 *      the group counts as committed, and fsync returns, once enough of them hold it;
 *   3. only then are the fragments the group dropped deleted, and the extents it
 *      wrote or dropped released to gc.
 * While step 1 runs, a fragment write that completes waits at the gate until the
 * commit is done: its extent's metadata then joins the NEXT group, so a group never
 * references a fragment its syncs did not cover. Appends to packs wait from step 0 on
 * (packable()), so every pack a group's files point at is written by its commit. After a
 * crash the pool is exactly the last committed group; what fsync returned for is in it,
 * or in the intent log (intent-log.ts), which joins every commit as a GroupParticipant
 * (its prepare runs before step 0: files it commits whole may still pack). A commit
 * with nothing waiting does none of this: it only waits for the newest generation's
 * copies.
 *
 * With groups off (offline CLI, tests of single operations) nothing is deferred: each
 * transaction commits on its own and each fragment write syncs itself.
 */
import { sectionDefaults } from '../config/settings';
import { sectionSettings } from '../config/values';
import type { FragmentRef } from '../meta/records';
import type { MetaStore } from '../meta/store';
import type { FragmentStore } from '../pool/fragment-store';
import { crashPoint } from './crash-points';

export interface GroupSettings {
  /** Longest time changes wait for a commit. */
  intervalMs: number;
  /** Bytes written since the last commit that start a commit and hold writers back. */
  dirtyMaxBytes: number;
}

/** The defaults and valid ranges are declared with the other settings (config/settings.ts). */
export const DEFAULT_GROUP_SETTINGS = sectionDefaults('commit') as unknown as GroupSettings;

/** The pool's commit settings (settings commit.*), defaults filled in. */
export function groupSettings(meta: MetaStore): GroupSettings {
  return sectionSettings<GroupSettings>(meta, 'commit');
}

export interface DroppedFragments {
  extentId: Buffer;
  fragments: FragmentRef[];
}

/**
 * The phases of a group commit, timed one by one (dynamicfs_txg_phase_duration_seconds):
 * prepare (participants: the logged files taken whole, the carried ones recorded), packs,
 * sync (the disks' syncs), commit (the metadata COMMIT), copies (the generation durable on the disks), cleanup (dropped
 * fragments deleted, participants finished: e.g. the logs emptied).
 */
export type GroupPhase = 'prepare' | 'packs' | 'sync' | 'commit' | 'copies' | 'cleanup';

export interface GroupCommit {
  generation: number | undefined;
  disksSynced: number;
  reason: string;
}

/**
 * Something that takes part in every group commit (the intent log, the mount's logged
 * files): it can hold changes the group must commit, get ready before the syncs, hear
 * of the commit at the instant it happens, and clean up after.
 */
export interface GroupParticipant {
  /** Something of this participant's waits for a commit (the interval commits it). */
  pending(): boolean;
  /** Before the group's syncs, in join order: e.g. record what must join this group. */
  prepare?(): Promise<void>;
  /** Synchronously right after the metadata COMMIT of a group that held changes; must not throw. */
  committed?(generation: number): void;
  /** After the commit (committed: whether a new generation is durable), in reverse join order; also after a failed one. */
  finish?(committed: boolean): Promise<void>;
}

interface GroupHost {
  readonly meta: MetaStore;
  store(diskId: number): FragmentStore;
  /** Delete dropped fragments now (the group that dropped them is committed). */
  deleteFragments(dropped: DroppedFragments[]): Promise<void>;
  /** Keep gc off these extents' fragments (dropped or written, not yet committed). */
  hold(ids: Buffer[]): void;
  release(ids: Buffer[]): void;
  /** Write the packs appended to in this group and record them in it (step 0). */
  flushPacks?(): Promise<void>;
  /** Groups on or off: metadata copies are written in parallel and awaited (durable) while on. */
  grouping?(on: boolean): void;
  /** Resolves once generation `g` of the metadata is durable on the pool's disks (step 2b). */
  durable?(g: number): Promise<void>;
  onCommitted?(c: GroupCommit, seconds: number): void;
  /** How long one phase of a commit that held something took (also of one that failed later). */
  onPhase?(phase: GroupPhase, seconds: number): void;
  onCommitFailed?(err: unknown): void;
}

export class TxGroups {
  private on = false;
  private settings: GroupSettings = DEFAULT_GROUP_SETTINGS;
  private timer: NodeJS.Timeout | undefined;
  /** Disks written without sync since the last commit began. */
  private unsyncedDisks = new Set<number>();
  private unsyncedBytes = 0;
  private toDelete: DroppedFragments[] = [];
  private toRelease: Buffer[] = [];
  /** Resolves when the commit in its sync phase is done (undefined: none is). */
  private gateOpen: Promise<void> | undefined;
  /** Resolves when the running commit is done (undefined: none past its participants' prepare); appends to packs wait for it. */
  private committing: Promise<void> | undefined;
  private endCommitting: (() => void) | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  /** A commit queued behind the running one, shared by everyone who asks meanwhile. */
  private queued: Promise<GroupCommit> | undefined;
  private readonly participants: GroupParticipant[] = [];

  constructor(private readonly host: GroupHost) {}

  /** Take part in every commit from now on (for the engine's life). */
  join(p: GroupParticipant): void {
    this.participants.push(p);
  }

  get enabled(): boolean {
    return this.on;
  }

  /** Turn groups on with the pool's commit settings (a coordinator does). */
  start(): void {
    this.on = true;
    this.host.meta.setGrouping(true);
    this.host.grouping?.(true);
    this.configure(groupSettings(this.host.meta));
  }

  /** Apply new settings now (`config --set commit.*` on a running coordinator). */
  configure(settings: GroupSettings): void {
    this.settings = settings;
    if (!this.on) return;
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (this.dirty) this.commit('interval').catch(() => undefined);
    }, settings.intervalMs);
    this.timer.unref();
  }

  get current(): GroupSettings {
    return this.settings;
  }

  /** Commit what is open and turn groups off (shutdown, unmount). */
  async stop(): Promise<void> {
    if (!this.on) return;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.commit('shutdown');
    this.on = false;
    this.host.meta.setGrouping(false);
    this.host.grouping?.(false);
  }

  /** Something waits for a commit: metadata changes, unsynced fragments, deferred deletes. */
  get dirty(): boolean {
    return this.host.meta.groupPending() || this.unsyncedDisks.size > 0 || this.toDelete.length > 0 || this.toRelease.length > 0
      || this.participants.some((p) => p.pending());
  }

  /** Whether fragment writes may skip their own syncs now. */
  get deferSync(): boolean {
    return this.on;
  }

  /**
   * A fragment write without sync finished on `diskId`: the disk joins the next sync,
   * and the caller waits while a commit syncs (so its extent joins the next group).
   */
  async wrote(diskId: number, bytes: number): Promise<void> {
    this.unsyncedDisks.add(diskId);
    this.unsyncedBytes += bytes;
    if (this.unsyncedBytes >= this.settings.dirtyMaxBytes) this.commit('dirty-bound').catch(() => undefined);
    if (this.gateOpen) await this.gateOpen;
  }

  /**
   * Resolves when a file may append to a pack and record its packed extent: not while a
   * commit runs (its packs are being written). The caller appends and records with no
   * await in between, so both land in the same group.
   */
  async packable(): Promise<void> {
    while (this.committing) await this.committing;
  }

  /** Writers wait here while the bytes since the last commit are past the bound. */
  async throttle(): Promise<void> {
    while (this.on && this.unsyncedBytes >= this.settings.dirtyMaxBytes) await this.commit('dirty-bound');
  }

  /** Delete these fragments once the group that dropped them is committed (now, without groups). */
  async dropAfterCommit(dropped: DroppedFragments[]): Promise<void> {
    if (!this.on || !this.host.meta.groupPending()) {
      await this.host.deleteFragments(dropped);
      return;
    }
    this.host.hold(dropped.map((d) => d.extentId));
    this.toDelete.push(...dropped);
  }

  /** Release extents to gc once the group that recorded them is committed (now, without groups). */
  releaseAfterCommit(ids: Buffer[]): boolean {
    if (!this.on) return false;
    this.toRelease.push(...ids);
    return true;
  }

  /**
   * Commit everything so far; resolves when it is durable. Calls while a commit runs
   * share one commit queued behind it (which covers their changes too).
   */
  commit(reason = 'sync'): Promise<GroupCommit> {
    if (!this.on) return Promise.resolve({ generation: undefined, disksSynced: 0, reason });
    if (this.queued) return this.queued;
    const run = this.chain.then(() => {
      this.queued = undefined;
      return this.commitNow(reason);
    });
    this.queued = run;
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async commitNow(reason: string): Promise<GroupCommit> {
    try {
      return await this.commitGroup(reason);
    } finally {
      this.committing = undefined;
      this.endCommitting?.();
      this.endCommitting = undefined;
    }
  }

  private async commitGroup(reason: string): Promise<GroupCommit> {
    // Nothing waits (e.g. the fsync of a directory whose names the last commit took): no
    // participants, syncs or COMMIT; only the newest generation must be on enough disks.
    if (!this.dirty) {
      await this.host.durable?.(this.host.meta.generation());
      return { generation: undefined, disksSynced: 0, reason };
    }
    const started = performance.now();
    let mark = started;
    const lap = (phase: GroupPhase): void => {
      const now = performance.now();
      this.host.onPhase?.(phase, (now - mark) / 1000);
      mark = now;
    };
    const participants = [...this.participants];
    let prepared = 0;
    let generation: number | undefined;
    try {
      for (const p of participants) {
        prepared++;
        await p.prepare?.();
      }
      lap('prepare');
      // Step 0: from here on, appends to packs wait for this commit to end.
      this.committing = new Promise<void>((r) => { this.endCommitting = r; });
      try {
        await this.host.flushPacks?.();
      } catch (err) {
        this.host.onCommitFailed?.(err);
        throw err;
      }
      lap('packs');
      const out = await this.commitPrepared(reason, started, participants, lap);
      generation = out.generation;
      return out;
    } finally {
      for (const p of participants.slice(0, prepared).reverse()) await p.finish?.(generation !== undefined);
      lap('cleanup');
    }
  }

  private async commitPrepared(reason: string, started: number, participants: GroupParticipant[], lap: (phase: GroupPhase) => void): Promise<GroupCommit> {
    const disks = [...this.unsyncedDisks];
    this.unsyncedDisks = new Set();
    this.unsyncedBytes = 0;
    const toDelete = this.toDelete;
    const toRelease = this.toRelease;
    this.toDelete = [];
    this.toRelease = [];
    let openGate!: () => void;
    this.gateOpen = new Promise<void>((r) => { openGate = r; });
    let generation: number | undefined;
    try {
      await Promise.all(disks.map((id) => this.host.store(id).sync()));
      lap('sync');
      // Synchronous from the last await to here: no write completed in between joined this group.
      generation = this.host.meta.commitGroup();
      if (generation !== undefined) for (const p of participants) p.committed?.(generation);
      lap('commit');
    } catch (err) {
      // Nothing of this group may be trusted durable: its disks sync again with the next one.
      for (const id of disks) this.unsyncedDisks.add(id);
      this.toDelete.unshift(...toDelete);
      this.toRelease.unshift(...toRelease);
      this.host.onCommitFailed?.(err);
      throw err;
    } finally {
      this.gateOpen = undefined;
      openGate();
    }
    try {
      if (generation !== undefined) crashPoint('group-meta-committed');
      // Also when this group held no metadata: an earlier generation that missed its copies must get them first.
      await this.host.durable?.(this.host.meta.generation());
      if (generation !== undefined) crashPoint('group-meta-on-disks');
      lap('copies');
    } catch (err) {
      // meta.db holds the generation, the disks do not: nothing the disks' newest generation references may go yet.
      this.toDelete.unshift(...toDelete);
      this.toRelease.unshift(...toRelease);
      this.host.onCommitFailed?.(err);
      throw err;
    }
    await this.host.deleteFragments(toDelete);
    this.host.release([...toRelease, ...toDelete.map((d) => d.extentId)]);
    const out = { generation, disksSynced: disks.length, reason };
    // Only a commit that made something durable counts (a request that changed nothing asks for one too).
    if (generation !== undefined || disks.length > 0) this.host.onCommitted?.(out, (performance.now() - started) / 1000);
    return out;
  }
}
