/** Rendering shared by the verbs that start a job (rebuild, drain, replace-disk). */
import type { JobOutcome } from '../../admin/ops';
import type { LostExtent } from '../../engine/rebuild';
import { jobLine } from './jobs';

export function renderJobOutcome(r: JobOutcome): string {
  const lines = [`job ${jobLine(r.job)}`];
  const lost = (r.job.progress.unrecoverable ?? []) as LostExtent[];
  for (const l of lost) lines.push(`  UNRECOVERABLE: ${l.path} at offset ${l.offset} (${l.length} bytes)`);
  if (!r.finished) lines.push(`running in the coordinator; follow it with \`dynamicfs jobs POOL\``);
  return lines.join('\n');
}
