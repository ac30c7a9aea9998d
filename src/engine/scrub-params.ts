/** A scrub's parameters as stored with its job, and its intensity: the I/O rate limit by name or rate. */
import { SCRUB_INTENSITIES } from '../config/settings';
import { DfsError } from '../errors';

const MiB = 1024 * 1024;

export const INTENSITIES = SCRUB_INTENSITIES;
export type Intensity = (typeof INTENSITIES)[number];

/** The I/O rate each intensity allows a scrub (bytes per second; 0 = unlimited). */
export const INTENSITY_RATES: Record<Intensity, number> = { low: 32 * MiB, medium: 128 * MiB, high: 0 };

/** A named intensity, or an explicit rate in bytes per second (0 = unlimited). */
export type IntensitySetting = Intensity | number;

export function intensityRate(i: IntensitySetting): number {
  return typeof i === 'number' ? i : INTENSITY_RATES[i];
}

/** Check an intensity that arrived as untyped data (a name or a rate in bytes per second). */
export function checkIntensity(v: unknown, what = 'intensity'): IntensitySetting {
  if (typeof v === 'string' && (INTENSITIES as readonly string[]).includes(v)) return v as Intensity;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw new DfsError('EINVAL', `${what} ${JSON.stringify(v)} is not low, medium, high or a rate in bytes per second`);
}

export interface ScrubParams {
  /** Repair each damaged extent on the spot (not in a dry run). */
  repair?: boolean;
  /** Report only: no repairs, no repair queue, no error counters, no verification times. */
  dryRun?: boolean;
  /** Started by the scheduler or `scrub-daemon start` rather than by a waiting `scrub`. */
  background?: boolean;
  intensity?: IntensitySetting;
  /** The rate limit the runner applies (JobRunner.setRate keeps it in the params). */
  rateBytesPerSec?: number;
  /** Why the job was started (schedule, operator). */
  reason?: string;
}

