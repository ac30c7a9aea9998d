/**
 * The disk health model. States, worst last:
 *
 *   healthy → degraded → suspect → failed        (automatic, from errors and probes)
 *   draining                                      (operator: evacuate, then remove)
 *
 * New fragments go to healthy disks only; reads use any disk but a failed one. Automatic
 * transitions only ever make a disk worse: declaring it healthy again is the operator's
 * call (`set-disk-health`), which also zeroes its error counters. The thresholds live
 * in the pool's config (meta key config.health; declared in config/settings.ts).
 */
import { sectionDefaults } from '../config/settings';
import { sectionSettings } from '../config/values';
import { DfsError } from '../errors';
import type { DiskRow, DiskState } from '../meta/records';
import type { MetaStore } from '../meta/store';

export const DISK_STATES: readonly DiskState[] = ['healthy', 'degraded', 'suspect', 'draining', 'failed'];

export interface HealthConfig {
  /** I/O errors (read + checksum + write) at which a disk becomes degraded, suspect, failed. */
  degradedErrors: number;
  suspectErrors: number;
  failedErrors: number;
  /** A probe (write + fsync + read-back) slower than this makes a disk suspect. */
  suspectLatencyMs: number;
  /** How often a running coordinator checks that every disk is present and writable. */
  monitorIntervalMs: number;
}

/** The defaults, from the settings' declaration (config/settings.ts). */
export const DEFAULT_HEALTH = sectionDefaults('health') as unknown as HealthConfig;

/** The pool's thresholds (settings health.*), defaults filled in. */
export function healthConfig(meta: MetaStore): HealthConfig {
  return sectionSettings<HealthConfig>(meta, 'health');
}

/** How bad a state is: automatic transitions only move up this scale. Draining sits apart. */
const SEVERITY: Record<DiskState, number> = { healthy: 0, degraded: 1, suspect: 2, draining: 2, failed: 3 };

export function parseDiskState(s: string): DiskState {
  if (!(DISK_STATES as readonly string[]).includes(s)) {
    throw new DfsError('EINVAL', `disk state "${s}" is not one of ${DISK_STATES.join(', ')}`);
  }
  return s as DiskState;
}

/** The state a disk's error counters call for, if worse than where it is; else undefined. */
export function stateForErrors(d: DiskRow, cfg: HealthConfig): { state: DiskState; reason: string } | undefined {
  const errors = d.readErrors + d.checksumErrors + d.writeErrors;
  const want: DiskState | undefined = errors >= cfg.failedErrors ? 'failed'
    : errors >= cfg.suspectErrors ? 'suspect'
      : errors >= cfg.degradedErrors ? 'degraded' : undefined;
  if (!want || !worse(want, d.state)) return undefined;
  return { state: want, reason: `${errors} I/O errors (read ${d.readErrors}, checksum ${d.checksumErrors}, write ${d.writeErrors}); threshold for ${want} is ${
    { degraded: cfg.degradedErrors, suspect: cfg.suspectErrors, failed: cfg.failedErrors }[want as 'degraded' | 'suspect' | 'failed']}` };
}

/**
 * Whether an automatic transition to `to` is a step down from `from`. A draining disk
 * only ever leaves for failed: it is on its way out already.
 */
export function worse(to: DiskState, from: DiskState): boolean {
  if (from === 'draining') return to === 'failed';
  return SEVERITY[to] > SEVERITY[from];
}
