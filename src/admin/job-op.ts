/**
 * How an admin operation runs a job. In a coordinator the job runs in the background:
 * the operation returns at once with the job (or, asked to wait, when it ends). Run
 * locally (no coordinator), the job runs in this process to its end, with a progress
 * bar on a terminal — the process must live as long as the job.
 */
import type { Engine } from '../engine/engine';
import type { JobView } from '../engine/jobs';
import { progressOf, type OpContext } from './context';

export interface JobOutcome {
  job: JobView;
  /** False when the job was left running in the coordinator's background. */
  finished: boolean;
}

export async function runJob(engine: Engine, ctx: OpContext, id: number, wait: boolean, label: string): Promise<JobOutcome> {
  if (engine.jobs.background) {
    const job = wait ? await engine.jobs.wait(id) : engine.jobs.view(engine.meta.getJob(id)!);
    return { job, finished: wait };
  }
  let shown = 0;
  const bar = progressOf(ctx, label, 0);
  const onProgress = (jobId: number): void => {
    if (jobId !== id) return;
    const p = engine.jobs.view(engine.meta.getJob(id)!).progress as { bytesDone: number; bytesTotal: number };
    bar.grow(p.bytesTotal);
    bar.add(p.bytesDone - shown);
    shown = p.bytesDone;
  };
  engine.jobs.on('progress', onProgress);
  try {
    return { job: await engine.jobs.runToEnd(id), finished: true };
  } finally {
    engine.jobs.off('progress', onProgress);
    bar.stop();
  }
}
