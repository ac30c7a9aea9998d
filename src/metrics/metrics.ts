/**
 * The pool's metrics: one prom-client Registry per Engine (so per process that owns a
 * pool), created by the engine or handed to it, and reached as `engine.metrics`; never a
 * global singleton. Every figure is counted on the real path that does the work: the
 * fragment store decorator (pool/metered-store.ts), the metadata commit hook
 * (engine.ts), the extent cache, the FUSE op table (fuse/instrument.ts), the admin
 * socket. Figures that describe state rather than events (disk states, space, extent
 * health) are computed when scraped, by hooks registered with `onScrape`
 * (admin/pool-metrics.ts).
 *
 * Names follow Prometheus conventions: `dynamicfs_` prefix, counters end in `_total`,
 * units in the name (`_bytes`, `_seconds`), labels `disk`, `op`, `state`, `code`. The
 * helpers below enforce the prefix and the `_total` rule, and are get-or-create: asking
 * twice for one name returns the same instrument, so a new metric is one line, declared
 * here as a field or asked for where it is used.
 *
 * Imports prom-client only (through prom.ts): metrics/ sits at the bottom with log/,
 * below every layer.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from './prom';
import { DfsError } from '../errors';

/** Latency buckets for disk and metadata operations: 50 us to 10 s. */
export const IO_BUCKETS: readonly number[] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Latency buckets for FUSE operations: 10 us (a cached getattr) to 30 s (an fsync behind slow disks). */
export const FUSE_BUCKETS: readonly number[] = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const NAME = /^dynamicfs_[a-z][a-z0-9_]*$/;

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

type ScrapeHook = () => Promise<void> | void;

export class Metrics {
  readonly registry = new Registry();
  private readonly hooks: ScrapeHook[] = [];
  private collecting: Promise<void> | undefined;
  private processMetrics = false;

  // ---- fragment I/O, per disk (pool/metered-store.ts) ----
  readonly fragmentReads = this.counter('dynamicfs_fragment_reads_total', 'Fragment reads attempted, by disk.', ['disk']);
  readonly fragmentWrites = this.counter('dynamicfs_fragment_writes_total', 'Fragment writes attempted (durable: fdatasync, rename, directory fsync), by disk.', ['disk']);
  readonly fragmentRemoves = this.counter('dynamicfs_fragment_removes_total', 'Fragment deletions attempted, by disk.', ['disk']);
  readonly fragmentReadBytes = this.counter('dynamicfs_fragment_read_bytes_total', 'Payload bytes of fragments read and verified, by disk.', ['disk']);
  readonly fragmentWriteBytes = this.counter('dynamicfs_fragment_write_bytes_total', 'Payload bytes of fragments written, by disk.', ['disk']);
  readonly fragmentErrors = this.counter('dynamicfs_fragment_errors_total',
    'Failed fragment operations, by disk, operation (read, write, remove) and error code (EIO, EDIGEST, ENOENT, ENOSPC, ...).', ['disk', 'op', 'code']);
  readonly fragmentSeconds = this.histogram('dynamicfs_fragment_io_duration_seconds',
    'Time of one fragment operation (read includes verification), by disk and operation.', ['disk', 'op'], IO_BUCKETS);

  // ---- extent cache (fs/extent-cache.ts) ----
  readonly cacheHits = this.counter('dynamicfs_cache_hits_total', 'Extent reads served from the cache of verified extents (a read-ahead in flight counts).');
  readonly cacheMisses = this.counter('dynamicfs_cache_misses_total', 'Extent reads that had to fetch the extent from the disks.');
  readonly cacheBytes = this.gauge('dynamicfs_cache_bytes', 'Bytes held by the cache of verified extents.');
  readonly cacheBudget = this.gauge('dynamicfs_cache_budget_bytes', 'Bytes the cache of verified extents may hold (setting cache.extentBytes).');
  readonly cachePrefetches = this.counter('dynamicfs_cache_prefetches_total',
    'Extents fetched ahead of a sequential reader through the mount (setting read.aheadExtents); one already cached or in flight is not fetched again, nor counted.');

  // ---- FUSE (fuse/instrument.ts) ----
  readonly fuseOps = this.counter('dynamicfs_fuse_operations_total', 'FUSE operations answered, by operation.', ['op']);
  readonly fuseErrors = this.counter('dynamicfs_fuse_operation_errors_total', 'FUSE operations answered with an error, by operation and errno name.', ['op', 'code']);
  readonly fuseSeconds = this.histogram('dynamicfs_fuse_operation_duration_seconds', 'Time from a FUSE request to its answer, by operation.', ['op'], FUSE_BUCKETS);

  // ---- metadata store (MetaStore.onCommit, set by the engine) ----
  readonly metaCommits = this.counter('dynamicfs_meta_commits_total', 'Metadata transactions committed (each bumps the generation).');
  readonly metaCommitSeconds = this.histogram('dynamicfs_meta_commit_duration_seconds', 'Time of a metadata COMMIT (durable: synchronous=FULL).', [], IO_BUCKETS);
  readonly metaTxnSeconds = this.histogram('dynamicfs_meta_transaction_duration_seconds', 'Time a metadata write transaction held the writer lock, BEGIN to COMMIT.', [], IO_BUCKETS);
  readonly generation = this.gauge('dynamicfs_meta_generation', 'Metadata generation: committed transactions since the pool was created.');
  readonly groupCommits = this.counter('dynamicfs_txg_commits_total', 'Transaction groups committed, by what started the commit (interval, fsync, admin, dirty-bound, log-full, replay, shutdown; drain and upgrade: a job making its state durable).', ['reason']);
  readonly groupCommitFailures = this.counter('dynamicfs_txg_commit_failures_total', 'Transaction group commits that failed (a disk sync or the metadata COMMIT), by error code; the group stays open and the next commit retries it.', ['code']);
  readonly groupCommitSeconds = this.histogram('dynamicfs_txg_commit_duration_seconds', 'Time to commit a transaction group: the disks\' syncs, then the metadata COMMIT.', [], IO_BUCKETS);
  readonly groupPhaseSeconds = this.histogram('dynamicfs_txg_phase_duration_seconds', 'Time of each phase of a transaction group commit: prepare (logged files taken whole or carried), packs, sync (the disks written), commit (metadata COMMIT), copies (the generation on the disks\' metadata logs), cleanup (deletes, logs emptied).', ['phase'], IO_BUCKETS);
  readonly intentLogWrites = this.counter('dynamicfs_intent_log_writes_total', 'fsyncs made durable by the intent log (records appended to m+1 disks and synced) instead of a group commit.');
  readonly intentLogBytes = this.counter('dynamicfs_intent_log_bytes_total', 'Bytes appended to the intent log, every copy counted.');
  readonly intentLogReplayed = this.counter('dynamicfs_intent_log_replayed_records_total', 'Intent log records applied when the pool was opened after a crash.');

  // ---- admin socket (daemon/admin-server.ts) ----
  readonly adminRequests = this.counter('dynamicfs_admin_requests_total', 'Admin requests answered on the admin socket, by operation and result (ok or an error code).', ['op', 'result']);

  // ---- pool state, computed when scraped (admin/pool-metrics.ts) ----
  readonly diskInfo = this.gauge('dynamicfs_disk_info', 'Always 1; labels say where each disk id lives.', ['disk', 'path', 'tier', 'uuid']);
  readonly diskState = this.gauge('dynamicfs_disk_state', '1 for the disk\'s current health state, 0 for the others.', ['disk', 'state']);
  readonly diskPresent = this.gauge('dynamicfs_disk_present', '1 when the disk directory is there with its label, 0 when it vanished (missing).', ['disk']);
  readonly diskCapacity = this.gauge('dynamicfs_disk_capacity_bytes', 'Size of the filesystem holding the disk (0 when missing).', ['disk']);
  readonly diskUsed = this.gauge('dynamicfs_disk_used_bytes', 'Bytes used on the filesystem holding the disk (0 when missing).', ['disk']);
  readonly diskFree = this.gauge('dynamicfs_disk_free_bytes', 'Bytes available on the filesystem holding the disk (0 when missing).', ['disk']);
  readonly diskFragments = this.gauge('dynamicfs_disk_fragments', 'Fragments the metadata places on the disk.', ['disk']);
  readonly diskErrorCounts = this.gauge('dynamicfs_disk_recorded_errors',
    'Error counters stored with the disk (read, checksum, write); an operator reset zeroes them.', ['disk', 'kind']);
  readonly poolCapacity = this.gauge('dynamicfs_pool_capacity_bytes', 'Capacity of the distinct filesystems behind the disks.');
  readonly poolUsed = this.gauge('dynamicfs_pool_used_bytes', 'Bytes used on the distinct filesystems behind the disks.');
  readonly poolFree = this.gauge('dynamicfs_pool_free_bytes', 'Bytes available on the distinct filesystems behind the disks.');
  readonly findings = this.gauge('dynamicfs_diagnose_findings', 'diagnose\'s findings now, by code and severity (what `dynamicfs diagnose` reports; absent when none).', ['code', 'severity']);
  readonly poolHealth = this.gauge('dynamicfs_pool_health', '1 for the pool\'s health (healthy, degraded, critical), 0 for the others; as /health answers.', ['state']);
  readonly extents = this.gauge('dynamicfs_extents', 'Extents by health: healthy (all fragments readable), degraded (at least k), unrecoverable (fewer than k).', ['state']);
  readonly inlineExtents = this.gauge('dynamicfs_extents_inline', 'Extents stored inline in the metadata store (counted as healthy).');
  readonly repairQueue = this.gauge('dynamicfs_repair_queue_length', 'Extents queued for repair.');
  readonly files = this.gauge('dynamicfs_files', 'Regular files in the namespace.');
  readonly directories = this.gauge('dynamicfs_directories', 'Directories in the namespace.');
  readonly logicalBytes = this.gauge('dynamicfs_logical_bytes', 'Sum of the sizes of all files.');
  // Repair and jobs: counted where the work happens (engine/repair.ts), jobs set at scrape time.
  readonly repairExtents = this.counter('dynamicfs_rebuild_extents_total',
    'Extents a repair (rebuild, drain, scrub --repair) attempted, by result: repaired, healthy, gone, unrecoverable, stuck, failed.', ['result']);
  readonly repairBytes = this.counter('dynamicfs_rebuild_bytes_total', 'Fragment payload bytes rebuilt or moved and written by repairs.');
  readonly jobs = this.gauge('dynamicfs_jobs', 'Jobs by kind and state (queued, running, paused, done, failed, cancelled).', ['kind', 'state']);
  readonly jobProgress = this.gauge('dynamicfs_job_progress_ratio', 'Fraction of the bytes done of each unfinished job (0-1), by job id and kind.', ['job', 'kind']);
  readonly jobEta = this.gauge('dynamicfs_job_eta_seconds', 'Seconds to done at the recent rate for each running job (-1 while unknown).', ['job', 'kind']);
  readonly jobRate = this.gauge('dynamicfs_job_rate_bytes_per_second', 'Bytes per second over the last 30 s for each running job.', ['job', 'kind']);
  readonly rebuildAtRisk = this.gauge('dynamicfs_rebuild_at_risk_bytes', 'Bytes of extents at zero margin (exactly k fragments left) that a running rebuild has still to repair.');
  readonly rebuildTimeToSafety = this.gauge('dynamicfs_rebuild_time_to_safety_seconds', 'Seconds until no extent is at zero margin, at the rebuild\'s recent rate (-1 while unknown).');
  // Scrub: counted as each extent's check commits (engine/scrub.ts); coverage at scrape time.
  readonly scrubRuns = this.counter('dynamicfs_scrub_runs_total', 'Scrub passes ended, by result (done, failed, cancelled).', ['result']);
  readonly scrubBytes = this.counter('dynamicfs_scrub_bytes_total', 'Fragment bytes read and verified by scrub.');
  readonly scrubExtents = this.counter('dynamicfs_scrub_extents_total', 'Extents checked by scrub.');
  readonly scrubIssues = this.counter('dynamicfs_scrub_issues_total', 'Missing, corrupt or misplaced fragments scrub found, by code.', ['code']);
  readonly scrubRepairs = this.counter('dynamicfs_scrub_repairs_total', 'Damaged extents scrub repaired.');
  readonly scrubCoverage = this.gauge('dynamicfs_scrub_verified_ratio', 'Fraction of extents verified (scrubbed or written) within the schedule period.');
  readonly scrubUnverified = this.gauge('dynamicfs_scrub_unverified_extents', 'Extents found damaged and neither repaired nor scrubbed clean since.');
  readonly scrubOldestAge = this.gauge('dynamicfs_scrub_oldest_verification_age_seconds', 'Age of the oldest extent verification (0 for an empty pool).');
  // Snapshots: the schedules' runs counted where they run (admin/snapshot-scheduler.ts); how many there are and space by owner at scrape time.
  readonly snapshotScheduleRuns = this.counter('dynamicfs_snapshot_schedule_runs_total',
    'Runs of a snapshot schedule (a snapshot taken, then its prefix pruned to --keep), by prefix and outcome (ok, failed).', ['prefix', 'outcome']);
  readonly snapshotsPruned = this.counter('dynamicfs_snapshot_schedule_pruned_total', 'Snapshots a schedule deleted to keep its prefix at --keep, by prefix.', ['prefix']);
  readonly snapshots = this.gauge('dynamicfs_snapshots', 'Snapshots of the pool (manual and scheduled, held or not).');
  readonly snapshotsHeld = this.gauge('dynamicfs_snapshots_held', 'Snapshots held (snapshot hold): neither deleted nor pruned until released.');
  readonly snapshotSpace = this.gauge('dynamicfs_snapshot_space_bytes',
    'File bytes by owner: live (the live tree\'s extents), shared (live extents snapshots see too, stored once), snapshot_only (what only snapshots keep).', ['owner']);
  // Events the sink (log/events.ts) could not append: counted through its drop listener (engine/engine-metrics.ts).
  readonly eventsDropped = this.counter('dynamicfs_events_dropped_total', 'Pool events (job transitions, repairs, heals, scrub findings) that could not be '
    + 'appended to POOL/run/events.jsonl (its filesystem full or read-only, or the path not a writable file): `dynamicfs events` misses them.');
  // Tiers: extents placed off their wanted tier (engine/tier-fallback.ts).
  readonly tierFallbacks = this.counter('dynamicfs_tier_fallback_extents_total',
    'Extents written to another tier than the one they want (wanted, placed: a tier or any), by why the wanted tier could not take them (too-few-disks, full).', ['wanted', 'placed', 'reason']);
  // Tier migrations: extents moved, counted as each move commits (engine/tier-migrate.ts); runs as they end (engine/jobs.ts).
  readonly tierMovedExtents = this.counter('dynamicfs_tier_moved_extents_total',
    'Extents the tier migration moved, by direction: down (to their background tier, idle and not hot), up (promoted to their foreground tier, hot).', ['direction']);
  readonly tierMovedBytes = this.counter('dynamicfs_tier_moved_bytes_total', 'Logical bytes of the extents the tier migration moved, by direction (down, up).', ['direction']);
  readonly tierMigrateRuns = this.counter('dynamicfs_tier_migrate_runs_total',
    'Tier migrations ended, by what started them (schedule: the coordinator, tier.migrateEvery; request: `tier migrate`) and result (done, failed, cancelled).', ['by', 'result']);
  // Tiers now, computed when scraped (admin/tier-report.ts, as `tier status`).
  readonly tierStoredBytes = this.gauge('dynamicfs_tier_stored_bytes', 'Bytes of fragments on each tier\'s disks, as stored (headers, padding, parity and copies included).', ['tier']);
  readonly tierExtents = this.gauge('dynamicfs_tier_extents', 'Extents whose fragments all lie on the tier.', ['tier']);
  readonly tierNonCompliant = this.gauge('dynamicfs_tier_noncompliant_extents',
    'Extents not on the tier they want, by why: fallback (the wanted tier cannot take them now), stale (it could: policy changed or fallback ended), mixed-tiers.', ['reason']);
  readonly tierCost = this.gauge('dynamicfs_tier_cost_per_month', 'Estimated monthly cost of each tier\'s stored bytes at tier.<tier>.pricePerGiBMonth (in the prices\' currency).', ['tier']);
  readonly collectErrors = this.counter('dynamicfs_metrics_collect_errors_total', 'Scrape-time collectors that failed (their gauges keep older values).');

  /** A counter (get-or-create). The name must start with `dynamicfs_` and end with `_total`. */
  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    if (!name.endsWith('_total')) throw new DfsError('EINTERNAL', `counter ${name}: a counter's name ends with _total`);
    return this.getOrCreate(name, Counter, () => new Counter<L>({ name, help, labelNames: [...labelNames], registers: [this.registry] }));
  }

  /** A gauge (get-or-create). The name must start with `dynamicfs_` and must not end with `_total`. */
  gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    if (name.endsWith('_total')) throw new DfsError('EINTERNAL', `gauge ${name}: only counters end with _total`);
    return this.getOrCreate(name, Gauge, () => new Gauge<L>({ name, help, labelNames: [...labelNames], registers: [this.registry] }));
  }

  /** A histogram (get-or-create); durations in seconds (`_seconds`), sizes in bytes (`_bytes`). */
  histogram<L extends string = never>(name: string, help: string, labelNames: readonly L[] = [], buckets: readonly number[] = IO_BUCKETS): Histogram<L> {
    return this.getOrCreate(name, Histogram, () => new Histogram<L>({ name, help, labelNames: [...labelNames], buckets: [...buckets], registers: [this.registry] }));
  }

  /**
   * Run `hook` before every scrape (text() and json()): it sets gauges from the pool's
   * current state. Hooks run one after the other; concurrent scrapes share one run.
   */
  onScrape(hook: ScrapeHook): void {
    this.hooks.push(hook);
  }

  /** Node's process metrics (process_*, nodejs_*): for a long-lived process that serves the pool. */
  enableProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics(this.registry);
  }

  /** The Prometheus text exposition format (what /metrics serves). */
  async text(): Promise<string> {
    await this.collect();
    return this.registry.metrics();
  }

  /** The same figures as prom-client's JSON (what /metrics/json serves). */
  async json(): Promise<MetricsJson> {
    await this.collect();
    return this.registry.getMetricsAsJSON();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private collect(): Promise<void> {
    this.collecting ??= (async () => {
      try {
        for (const hook of this.hooks) {
          try {
            await hook();
          } catch {
            this.collectErrors.inc();
          }
        }
      } finally {
        this.collecting = undefined;
      }
    })();
    return this.collecting;
  }

  private getOrCreate<M>(name: string, kind: abstract new (...a: never[]) => M, make: () => M): M {
    if (!NAME.test(name)) throw new DfsError('EINTERNAL', `metric ${name}: names are dynamicfs_ followed by lower-case snake_case`);
    const existing = this.registry.getSingleMetric(name);
    if (existing === undefined) return make();
    if (!(existing instanceof kind)) throw new DfsError('EINTERNAL', `metric ${name} already exists as another type`);
    return existing as M;
  }
}
