/** Every kind of job the runner knows, by the name stored in the jobs table. */
import type { JobFn, JobKind } from './jobs';
import { compactJob } from './compact';
import { rebuildJob } from './rebuild';
import { scrubJob } from './scrub';
import { snapshotPurgeJob } from './snapshot-purge';
import { tierMigrateJob } from './tier-migrate';
import { upgradeKind } from './upgrade';

export const JOB_KINDS: Record<string, JobFn | JobKind> = {
  rebuild: rebuildJob,
  drain: rebuildJob,
  scrub: scrubJob,
  compact: compactJob,
  upgrade: upgradeKind,
  'snapshot-purge': snapshotPurgeJob,
  'tier-migrate': tierMigrateJob,
};
