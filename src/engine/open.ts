/**
 * How an Engine comes to be: the pool, its worker pools and every job kind the runner
 * knows. Kept apart from engine.ts so that engine.ts imports no pipeline (the job kinds
 * import rebuild and scrub, which see the engine only through EngineServices).
 */
import { sqliteStore } from '../meta/sqlite/sqlite-store';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/metrics';
import { Pool } from '../pool/pool';
import { Engine } from './engine';
import { JOB_KINDS } from './job-kinds';
import type { JobFn, JobKind } from './jobs';
import { WorkPools } from './work-pools';

/** Job kinds defined above engine/ (the backup jobs, in backup/), which the opener passes in. */
export type ExtraJobKinds = Readonly<Record<string, JobFn | JobKind>>;

/**
 * Open the pool (taking its lock) over its SQLite metadata store; `metrics` defaults to a
 * registry of its own; `log` hears of a metadata heal and of the disks' metadata copies;
 * `kinds`: job kinds besides the engine's own.
 */
export function openEngine(poolDir: string, metrics?: Metrics, log?: Logger, kinds: ExtraJobKinds = {}): Engine {
  return attachEngine(Pool.open(poolDir, sqliteStore, log), metrics, kinds);
}

/** Wrap an already-open pool (init uses this right after creating it). */
export function attachEngine(pool: Pool, metrics?: Metrics, kinds: ExtraJobKinds = {}): Engine {
  return new Engine(pool, new WorkPools(), { ...JOB_KINDS, ...kinds }, metrics);
}
