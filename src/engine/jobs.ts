/**
 * One job model for long operations (rebuild, drain, scrub; later backup, rebalance).
 * A job is a row in the metadata store — id, kind, state, params, progress — so it
 * survives a restart: a coordinator resumes every job left queued or running, and a
 * job's own code persists a cursor in its progress so the resumed run picks up where
 * the last one stopped rather than starting over.
 *
 * The runner runs at most one job per lane at a time (rebuild, drain, compact and tier-migrate share the
 * `repair` lane: they move fragments; scrub and upgrade have their own). In the foreground (a CLI
 * run without a coordinator) `runToEnd` drives one job to completion; in the
 * coordinator `start()` picks up queued jobs in the background.
 *
 * Rate and ETA are computed live from a sliding window of progress samples, never
 * persisted: a fresh process has no rate until it has done some work.
 *
 * A cancel stops a job at its next step. A kind that must undo its partial work when
 * cancelled (the upgrade: JobKind.undoesOnCancel) is run to do so even when it is not
 * running here (queued, paused, or left running by a killed process); a job past its
 * point of no return refuses the cancel (JobContext.refuseCancel, JobKind.cancelRefused).
 */
import { EventEmitter } from 'node:events';
import { DfsError, toDfsError } from '../errors';
import type { JobRow, JobState } from '../meta/records';
import type { Txn } from '../meta/store';
import type { EngineServices } from './context';
import { RateLimiter } from './rate-limiter';

/** The counters every job keeps; kinds add their own fields next to them. */
export interface JobProgress {
  extentsDone: number;
  extentsTotal: number;
  bytesDone: number;
  bytesTotal: number;
  [field: string]: unknown;
}

export interface LiveFigures {
  /** Bytes per second over the recent window; null until there are two samples. */
  rateBytesPerSec: number | null;
  /** Seconds to done at the current rate: 0 when done, null when unknown. */
  etaSeconds: number | null;
  /** Seconds until no extent is left at zero margin (jobs that track atRiskBytes); 0 when none is. */
  timeToSafetySeconds: number | null;
}

export type JobView = JobRow & LiveFigures;

/** What a job's function gets: its row's data and the controls the runner applies. */
export interface JobContext {
  readonly id: number;
  readonly kind: string;
  readonly params: Record<string, unknown>;
  readonly progress: JobProgress;
  /**
   * What the process that runs the job here handed it (runToEnd's `attachment`): a receive's
   * open stream, say. Undefined when the runner started the job by itself (a coordinator's
   * queue, a resumed job): the job must then find what it needs from its params, or pause.
   */
  readonly attachment?: unknown;
  /** Persist progress (inside `tx` when given, so a cursor moves with the work it covers). */
  checkpoint(tx?: Txn): void;
  /** Call between units of work: waits while paused, throws JobInterrupted when stopping. */
  step(): Promise<void>;
  /** Account `bytes` of I/O against the job's rate limit (waits when over it). */
  throttle(bytes: number): Promise<void>;
  /** From now on a cancel is refused with `why` (the job is past its point of no return and finishes by itself). */
  refuseCancel(why: string): void;
}

export type JobFn = (engine: EngineServices, ctx: JobContext) => Promise<void>;

/** A kind of job: how it runs, and how a cancel applies to it when "stop at the next step" is not enough. */
export interface JobKind {
  run: JobFn;
  /**
   * Its partial work is undone when cancelled (the run catches JobInterrupted 'cancel',
   * undoes, and rethrows): cancelling one that is not running here runs it to do that,
   * its first step() throwing at once.
   */
  undoesOnCancel?: boolean;
  /** Why a job of this kind that is not running here cannot be cancelled any more, or undefined. */
  cancelRefused?(engine: EngineServices, row: JobRow): string | undefined;
  /** The lane it runs in when not the kind's default (laneOf): one job per lane at a time. */
  lane?: string;
}

/**
 * Thrown out of step() when the runner stops or the job is cancelled: not a failure. A
 * job may throw one itself: 'cancel' ends it cancelled; 'pause' ends it paused, when it
 * cannot go on by itself (a receive whose stream was the caller's stdin: it waits for
 * `receive --resume`), so the queue does not start it again.
 */
export class JobInterrupted extends Error {
  constructor(readonly reason: 'stop' | 'cancel' | 'pause') {
    super(`job ${reason === 'cancel' ? 'cancelled' : reason === 'pause' ? 'paused' : 'stopped'}`);
  }
}

const ENDED: readonly JobState[] = ['done', 'failed', 'cancelled'];

const WINDOW_MS = 30_000;
const CHECKPOINT_EVERY_MS = 1000;

/** An upgrade has a lane of its own: its caller waits for it, and it must not queue behind a long rebuild; so has a receive. */
function laneOf(kind: string): string {
  return kind === 'scrub' || kind === 'upgrade' || kind === 'snapshot-purge' || kind === 'receive' ? kind : 'repair';
}

/** The admin request a job was started for (submit keeps it in params.reqId). */
export function reqIdOf(params: Record<string, unknown>): string | undefined {
  return typeof params.reqId === 'string' ? params.reqId : undefined;
}

export function emptyProgress(): JobProgress {
  return { extentsDone: 0, extentsTotal: 0, bytesDone: 0, bytesTotal: 0 };
}

interface Running {
  id: number;
  kind: string;
  ctx: JobContext;
  samples: { at: number; bytes: number }[];
  paused: boolean;
  /** Steps waiting while paused: one per extent in flight of a job that works on several at once (rebuild). */
  waiting: (() => void)[];
  interrupt: 'stop' | 'cancel' | undefined;
  /** Set by refuseCancel: why a cancel is refused now. */
  cancelRefusal: string | undefined;
  limiter: RateLimiter;
  done: Promise<void>;
}

export class JobRunner extends EventEmitter {
  private readonly running = new Map<number, Running>();
  private inBackground = false;
  private stopping = false;
  private readonly kinds: ReadonlyMap<string, JobKind>;

  /** `kinds`: each kind's function, or a JobKind when a cancel needs more than a stop. */
  constructor(private readonly engine: EngineServices, kinds: Readonly<Record<string, JobFn | JobKind>>) {
    super();
    this.kinds = new Map(Object.entries(kinds).map(([name, k]) => [name, typeof k === 'function' ? { run: k } : k]));
  }

  /** True in a coordinator: queued jobs start by themselves. */
  get background(): boolean {
    return this.inBackground;
  }

  /**
   * Queue a job; in the background it starts when its lane is free. `reqId`: the admin
   * request that asked for it, kept in its params (`jobs` shows it) and in every 'state'
   * event, so its log lines carry it.
   */
  submit(kind: string, params: Record<string, unknown>, progress: JobProgress = emptyProgress(), reqId?: string): number {
    if (!this.kinds.has(kind)) throw new DfsError('EINVAL', `unknown job kind "${kind}"`);
    const id = this.engine.meta.transact((tx) => tx.createJob(kind, reqId === undefined ? params : { ...params, reqId }, progress));
    this.changed(id);
    this.pump();
    return id;
  }

  /**
   * Create a job inside the caller's transaction, so it exists exactly when the change it
   * finishes does (a snapshot's deletion and the purge of its versions); after the commit,
   * queued(id) announces it and, in the background, starts it.
   */
  createIn(tx: Txn, kind: string, params: Record<string, unknown>, progress: JobProgress = emptyProgress(), reqId?: string): number {
    if (!this.kinds.has(kind)) throw new DfsError('EINVAL', `unknown job kind "${kind}"`);
    return tx.createJob(kind, reqId === undefined ? params : { ...params, reqId }, progress);
  }

  /** A job createIn made was committed. */
  queued(id: number): void {
    this.changed(id);
    this.pump();
  }

  /**
   * Job `id` moved to a new state: an event in the pool's history (log/events.ts), with
   * the request that asked for the job, and 'state' (row) to listeners (the coordinator's log).
   */
  private changed(id: number): void {
    const row = this.engine.meta.getJob(id);
    if (!row) return;
    const progress = `${row.progress.extentsDone}/${row.progress.extentsTotal} extents`;
    this.engine.pool.events.record({ kind: 'job', subject: `job ${row.id}`, reqId: reqIdOf(row.params),
      message: `${row.kind} job ${row.id} ${row.state}${row.state === 'queued' || row.state === 'running' ? '' : ` (${progress})`}${row.error ? `: ${row.error}` : ''}`,
      details: { job: row.id, jobKind: row.kind, state: row.state, ...(row.error ? { error: row.error } : {}), progress: { extentsDone: row.progress.extentsDone, extentsTotal: row.progress.extentsTotal, bytesDone: row.progress.bytesDone } } });
    this.emit('state', row);
  }

  /** The unfinished job of `kind`, if any (queued, running or paused). */
  active(kind: string): JobRow | undefined {
    return this.engine.meta.jobs().find((j) => j.kind === kind && (j.state === 'queued' || j.state === 'running' || j.state === 'paused'));
  }

  /**
   * Run job `id` here and now until it ends (foreground CLI); resolves with its final row.
   * `attachment` reaches the job as ctx.attachment (what only this process can give it).
   */
  async runToEnd(id: number, attachment?: unknown): Promise<JobView> {
    const row = this.row(id);
    if (ENDED.includes(row.state)) return this.view(row);
    const running = this.running.get(id);
    if (running) {
      await running.done;
      return this.view(this.row(id));
    }
    await this.launch(row, undefined, attachment).done;
    return this.view(this.row(id));
  }

  /** Background mode (the coordinator): resume what a previous process left, then keep picking up queued jobs. */
  start(): void {
    this.inBackground = true;
    // A job left running was interrupted by a crash: it goes back in the queue. (No
    // transaction when there is none: starting a coordinator must not bump the generation.)
    const interrupted = this.engine.meta.jobs().filter((j) => j.state === 'running');
    if (interrupted.length) this.engine.meta.transact((tx) => { for (const j of interrupted) tx.updateJob(j.id, { state: 'queued' }); });
    for (const j of interrupted) this.changed(j.id);
    this.pump();
  }

  /** Stop every running job at its next step; they stay queued (or paused) and resume on the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.inBackground = false;
    for (const r of this.running.values()) {
      r.interrupt = 'stop';
      wake(r);
    }
    await Promise.all([...this.running.values()].map((r) => r.done));
    this.emit('stopped');
  }

  pause(id: number): JobView {
    const row = this.row(id);
    if (row.state !== 'running' && row.state !== 'queued') throw new DfsError('EINVAL', `job ${id} is ${row.state}; only a queued or running job can be paused`);
    const r = this.running.get(id);
    if (r) r.paused = true;
    this.engine.meta.transact((tx) => tx.updateJob(id, { state: 'paused' }));
    this.changed(id);
    return this.view(this.row(id));
  }

  resume(id: number): JobView {
    const row = this.row(id);
    if (row.state !== 'paused') throw new DfsError('EINVAL', `job ${id} is ${row.state}, not paused`);
    const r = this.running.get(id);
    this.engine.meta.transact((tx) => tx.updateJob(id, { state: r ? 'running' : 'queued' }));
    this.changed(id);
    if (r) {
      r.paused = false;
      wake(r);
    }
    this.pump();
    return this.view(this.row(id));
  }

  /**
   * Cancel job `id`: a running one stops at its next step; one not running here (queued,
   * paused, or left running by a killed process) ends cancelled now, or, of a kind that
   * undoes its work, is run to undo it (wait() for the end). Refused (EINVAL) for a job
   * that has ended or is past its point of no return.
   */
  cancel(id: number): JobView {
    const row = this.row(id);
    if (ENDED.includes(row.state)) throw new DfsError('EINVAL', `job ${id} is ${row.state}; only a queued, running or paused job can be cancelled`);
    const r = this.running.get(id);
    // A kind this code does not know (a newer DynamicFS's) is cancelled plainly.
    const kind = this.kinds.get(row.kind);
    const refused = r ? r.cancelRefusal : kind?.cancelRefused?.(this.engine, row);
    if (refused !== undefined) throw new DfsError('EINVAL', `${row.kind} job ${id} cannot be cancelled: ${refused}`, undefined, { job: id });
    if (r) {
      r.interrupt = 'cancel';
      wake(r);
    } else if (kind?.undoesOnCancel) {
      this.launch(row, 'cancel');
    } else {
      this.engine.meta.transact((tx) => tx.updateJob(id, { state: 'cancelled' }));
      this.changed(id);
    }
    return this.view(this.row(id));
  }

  /** Change a job's I/O rate limit (bytes per second, 0 = unlimited), persisted in its params. */
  setRate(id: number, bytesPerSec: number, params: Record<string, unknown>): void {
    const row = this.row(id);
    this.engine.meta.transact((tx) => tx.updateJob(id, { params: { ...row.params, ...params, rateBytesPerSec: bytesPerSec } }));
    this.running.get(id)?.limiter.setRate(bytesPerSec);
  }

  /**
   * Resolves when job `id` has ended (at once if it has). A queued job is waited for
   * too; one that stops without ending (paused, or the runner stopping) also resolves.
   */
  async wait(id: number): Promise<JobView> {
    const row = this.row(id);
    if (ENDED.includes(row.state)) return this.view(row);
    if (!this.running.has(id) && !(this.inBackground && row.state === 'queued')) return this.view(row);
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.off('end', onEnd);
        this.off('stopped', done);
        resolve();
      };
      const onEnd = (jobId: number): void => { if (jobId === id) done(); };
      this.on('end', onEnd);
      this.on('stopped', done);
    });
    return this.view(this.row(id));
  }

  list(): JobView[] {
    return this.engine.meta.jobs().map((j) => this.view(j));
  }

  view(row: JobRow): JobView {
    const r = this.running.get(row.id);
    const ended = row.state === 'done' ? 0 : null;
    // Nothing left at zero margin is "safe now" whether or not the job runs here.
    const safe = row.progress.atRiskBytes === 0 ? 0 : ended;
    const live = r ? liveFigures(r.samples, r.ctx.progress) : { rateBytesPerSec: null, etaSeconds: ended, timeToSafetySeconds: safe };
    return { ...row, ...(r ? { progress: { ...r.ctx.progress } } : {}), ...live };
  }

  private kindOf(row: JobRow): JobKind {
    const kind = this.kinds.get(row.kind);
    if (!kind) throw new DfsError('EINVAL', `job ${row.id} has unknown kind "${row.kind}"`);
    return kind;
  }

  private row(id: number): JobRow {
    const row = this.engine.meta.getJob(id);
    if (!row) throw new DfsError('ENOENT', `there is no job ${id}; \`dynamicfs jobs POOL\` lists them`);
    return row;
  }

  private lane(kind: string): string {
    return this.kinds.get(kind)?.lane ?? laneOf(kind);
  }

  /** Start queued jobs whose lane is free (background mode only); a kind this process does not know waits for one that does. */
  private pump(): void {
    if (!this.inBackground || this.stopping) return;
    const busy = new Set([...this.running.values()].map((r) => this.lane(r.kind)));
    for (const j of this.engine.meta.jobs()) {
      // A kind this process does not know (a newer DynamicFS's, or one its opener did not give) stays queued.
      if (j.state !== 'queued' || !this.kinds.has(j.kind) || busy.has(this.lane(j.kind))) continue;
      busy.add(this.lane(j.kind));
      this.launch(j);
    }
  }

  /** Run `row` here; `interrupt` 'cancel': to undo its work (its first step() throws). */
  private launch(row: JobRow, interrupt?: 'cancel', attachment?: unknown): Running {
    const fn = this.kindOf(row).run;
    const progress: JobProgress = { ...emptyProgress(), ...row.progress } as JobProgress;
    let lastCheckpoint = 0;
    const r: Running = {
      id: row.id, kind: row.kind, paused: row.state === 'paused', waiting: [], interrupt, cancelRefusal: undefined,
      samples: [], limiter: new RateLimiter(Number(row.params.rateBytesPerSec ?? 0)), done: Promise.resolve(),
      ctx: undefined as unknown as JobContext,
    };
    const meta = this.engine.meta;
    r.ctx = {
      id: row.id,
      kind: row.kind,
      params: row.params,
      progress,
      attachment,
      checkpoint: (tx?: Txn) => {
        sample(r.samples, progress.bytesDone);
        if (tx) tx.updateJob(row.id, { progress });
        else if (Date.now() - lastCheckpoint >= CHECKPOINT_EVERY_MS) meta.transact((t) => t.updateJob(row.id, { progress }));
        else return;
        lastCheckpoint = Date.now();
        this.emit('progress', row.id);
      },
      step: async () => {
        while (r.paused && !r.interrupt) await new Promise<void>((resolve) => { r.waiting.push(resolve); });
        if (r.interrupt) throw new JobInterrupted(r.interrupt);
      },
      throttle: (bytes: number) => r.limiter.take(bytes, () => r.interrupt !== undefined),
      refuseCancel: (why: string) => {
        r.cancelRefusal = why;
      },
    };
    this.running.set(row.id, r);
    if (!r.paused) {
      meta.transact((tx) => tx.updateJob(row.id, { state: 'running' }));
      this.changed(row.id);
    }
    sample(r.samples, progress.bytesDone);
    r.done = (async () => {
      let end: { state: JobState; error?: string | null };
      try {
        await fn(this.engine, r.ctx);
        end = { state: 'done', error: null };
      } catch (err) {
        if (err instanceof JobInterrupted) end = { state: err.reason === 'cancel' ? 'cancelled' : err.reason === 'pause' || r.paused ? 'paused' : 'queued' };
        else end = { state: 'failed', error: toDfsError(err).message };
      }
      this.running.delete(row.id);
      try {
        meta.transact((tx) => tx.updateJob(row.id, { ...end, progress }));
        this.changed(row.id);
      } catch {
        // The store is closing under us (shutdown): the row keeps its last checkpoint.
      }
      if (row.kind === 'scrub' && end.state !== 'queued' && end.state !== 'paused') this.engine.metrics.scrubRuns.inc({ result: end.state });
      if (row.kind === 'tier-migrate' && end.state !== 'queued' && end.state !== 'paused') {
        this.engine.metrics.tierMigrateRuns.inc({ by: row.params.scheduled === true ? 'schedule' : 'request', result: end.state });
      }
      this.emit('end', row.id, end.state);
      this.pump();
    })();
    return r;
  }
}

/** Every step waiting on the job's pause goes on (to look at its state again). */
function wake(r: Running): void {
  for (const resolve of r.waiting.splice(0)) resolve();
}

function sample(samples: { at: number; bytes: number }[], bytes: number): void {
  const now = Date.now();
  samples.push({ at: now, bytes });
  while (samples.length > 2 && now - samples[0]!.at > WINDOW_MS) samples.shift();
}

/** Rate over the window and an ETA that is never negative and is 0 once the work is done. */
export function liveFigures(samples: { at: number; bytes: number }[], p: JobProgress): LiveFigures {
  const rate = rateOf(samples);
  const eta = (bytes: number): number | null => (bytes <= 0 ? 0 : rate === null || rate <= 0 ? null : Math.ceil(bytes / rate));
  const remaining = Math.max(0, p.bytesTotal - p.bytesDone);
  return {
    rateBytesPerSec: rate,
    etaSeconds: p.bytesTotal > 0 || p.extentsDone >= p.extentsTotal ? eta(remaining) : null,
    timeToSafetySeconds: typeof p.atRiskBytes === 'number' ? eta(Math.max(0, p.atRiskBytes)) : null,
  };
}

function rateOf(samples: { at: number; bytes: number }[]): number | null {
  if (samples.length < 2) return null;
  const a = samples[0]!;
  const b = samples[samples.length - 1]!;
  const dt = (b.at - a.at) / 1000;
  return dt > 0 ? Math.max(0, (b.bytes - a.bytes) / dt) : null;
}
