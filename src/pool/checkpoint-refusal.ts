/**
 * Checkpoints refused because the store's copy holds rows failing their checksum (issue
 * 14). Sealing such a copy would drop the disk's older checkpoint, the one place a heal
 * finds the good rows, so the disk keeps its checkpoint and log (a current copy's log goes
 * on growing) or, without one, stays stale. Each try copies and verifies the whole store:
 * after a refusal no other is tried for RETRY_MS (whatever asks: a log past its bound at
 * each upkeep, a group lacking copies), unless rows were healed meanwhile or an operator
 * asks for one (check --repair's renew).
 */
import type { Logger } from '../log/logger';
import type { StoreCopy } from '../meta/store';
import type { Copy } from './meta-copy';

export const RETRY_MS = 60_000;

/** What the pool records of a refusal (a disk event on each disk, an audit line: pool.ts). */
export interface Refusal {
  generation: number;
  diskIds: number[];
  /** Why, naming the damaged rows and the fix, the same for every refusal of the same rows. */
  reason: string;
}

export class CheckpointRefusals {
  private lastMs: number | undefined;

  constructor(private readonly poolDir: string, private readonly log: Logger, private readonly record: (r: Refusal) => void) {}

  /** Whether a checkpoint may be tried now (`forced`: an operator asked for it). */
  mayTry(forced: boolean, nowMs = Date.now()): boolean {
    return forced || this.lastMs === undefined || nowMs - this.lastMs >= RETRY_MS;
  }

  /**
   * Whether `copy` may be sealed; when not, the refusal is logged, recorded, and set as each
   * target's error (status shows it).
   */
  accept(copy: StoreCopy, targets: readonly Copy[]): boolean {
    const { count, first } = copy.damaged;
    if (count === 0) return true;
    this.lastMs = Date.now();
    const rows = `${first.join('; ')}${count > first.length ? `; and ${count - first.length} more` : ''}`;
    const reason = `metadata checkpoint refused: meta.db has ${count} record(s) failing their checksum (${rows}); `
      + `run \`dynamicfs check ${this.poolDir} --repair\` to restore them from the disks' copies`;
    for (const c of targets) {
      c.lastError = c.next === undefined
        ? `${reason}; the disk has no copy of the metadata and stays stale until then`
        : `${reason}; the disk keeps its older checkpoint and log (they hold the good rows), the log growing until then`;
    }
    this.log.error({ generation: copy.generation, disks: targets.map((c) => c.id), damaged: count, rows: first }, reason);
    try {
      this.record({ generation: copy.generation, diskIds: targets.map((c) => c.id), reason });
    } catch (err) {
      // The record goes into meta.db, which is damaged: the log line above stands.
      this.log.warn({ err }, 'the refused metadata checkpoint could not be recorded');
    }
    return false;
  }

  /** Rows were restored: the next checkpoint is tried at once. */
  healed(): void {
    this.lastMs = undefined;
  }
}
