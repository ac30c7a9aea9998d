/**
 * Self-healing while a coordinator serves the pool: every few seconds the disks are
 * checked (vanished, read-only, unreadable label → a health transition), and whenever
 * there is repair work — a disk failed, a read queued a repair, the start-up scan found
 * a missing fragment — a rebuild job is started unless one (or a drain) is running.
 *
 * Work the last rebuild could not do (unrecoverable extents, nowhere to place a
 * fragment) is not retried on every tick; a disk transition — say, an operator bringing
 * a disk back or a new disk being declared healthy — makes it worth another try.
 */
import type { Logger } from 'pino';
import { healthConfig } from '../pool/health';
import type { Transition } from './disk-health';
import type { Engine } from './engine';
import { collectWork, scanForMissing } from './rebuild';

export class AutoRepair {
  private timer: NodeJS.Timeout | undefined;
  private hopeless = new Set<string>();
  private checking = false;
  private readonly onTransition = (t: Transition): void => {
    this.log.warn({ disk: t.diskId, from: t.from, to: t.to, source: t.source, reason: t.reason, ...(t.reqId ? { reqId: t.reqId } : {}) }, 'disk state changed');
    this.hopeless.clear();
    // The rebuild a request's transition starts (set-disk-health failed) carries its id: `events --request` shows both.
    this.kick('disk state changed', t.reqId);
  };
  private readonly onQueued = (): void => this.kick('a read queued a repair');
  private readonly onJobEnd = (id: number, state: string): void => {
    const job = this.engine.meta.getJob(id);
    if (!job || (job.kind !== 'rebuild' && job.kind !== 'drain')) return;
    this.log.info({ job: id, kind: job.kind, state, progress: job.progress }, 'repair job ended');
    // Whatever is still to do after a finished pass is beyond repair for now.
    for (const w of collectWork(this.engine, new Set(), new Set())) this.hopeless.add(w.id.toString('hex'));
  };

  constructor(private readonly engine: Engine, private readonly log: Logger) {}

  /** Start watching; the start-up scan runs in the background and queues what it finds. */
  start(): void {
    this.engine.health.on('transition', this.onTransition);
    this.engine.on('repair-queued', this.onQueued);
    this.engine.jobs.on('end', this.onJobEnd);
    const interval = healthConfig(this.engine.meta).monitorIntervalMs;
    this.timer = setInterval(() => void this.tick(), interval);
    this.timer.unref();
    void scanForMissing(this.engine).then((n) => {
      if (n > 0) this.log.warn({ extents: n }, 'start-up scan queued extents with missing fragments');
      this.kick('start-up scan');
    }, (err: Error) => this.log.error({ err: err.message }, 'start-up scan failed'));
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.engine.health.off('transition', this.onTransition);
    this.engine.off('repair-queued', this.onQueued);
    this.engine.jobs.off('end', this.onJobEnd);
  }

  private async tick(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.engine.health.check(); // transitions reach onTransition
      this.kick('periodic check');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'disk check failed');
    } finally {
      this.checking = false;
    }
  }

  /** Start a rebuild when there is work nobody is doing. */
  private kick(why: string, reqId?: string): void {
    if (!this.timer) return;
    if (this.engine.jobs.active('rebuild') || this.engine.jobs.active('drain')) return;
    const work = collectWork(this.engine, new Set(), this.hopeless);
    if (work.length === 0) return;
    const id = this.engine.jobs.submit('rebuild', { reason: why }, undefined, reqId);
    this.log.info({ job: id, extents: work.length, why }, 'rebuild started');
  }
}
