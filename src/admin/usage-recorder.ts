/**
 * A running coordinator's sampler of the pool's space per tier (usage-history.ts): one
 * sample at start, then one an hour, so diagnose can forecast when each tier fills up.
 * A sample that fails (a disk vanishing mid-statfs) is logged and skipped.
 */
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine';
import { deviceOf, diskReports } from './disk-report';
import { appendUsage, sampleOf, tierSpace } from './usage-history';

const HOUR_MS = 3_600_000;

export class UsageRecorder {
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly engine: Engine, private readonly log: Logger) {}

  static start(engine: Engine, log: Logger, intervalMs = HOUR_MS): UsageRecorder {
    const r = new UsageRecorder(engine, log);
    void r.sample();
    r.timer = setInterval(() => void r.sample(), intervalMs);
    r.timer.unref();
    return r;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sample(): Promise<void> {
    try {
      const { disks } = await diskReports(this.engine);
      appendUsage(this.engine.pool.dir, sampleOf(Date.now(), tierSpace(disks, deviceOf)));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'usage sample skipped');
    }
  }
}
