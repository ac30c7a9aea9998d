/**
 * `receive` and `receive --status`: a send stream applied to this pool (fs/receive.ts, the
 * persistent `receive` job), read from a local file or the caller's stdin (local runs
 * only). The operation answers when the job has ended: with the received snapshot, or
 * with the job's error and its code (a damaged record: EDIGEST or EFORMAT, naming the
 * record and its byte offset). `--resume` goes on with the unfinished receive after its
 * last committed record; `--status` shows it and its resume token.
 */
import { DfsError, isErrorCode } from '../../errors';
import type { Engine } from '../../engine/engine';
import type { JobView } from '../../engine/jobs';
import { beginReceive, resumeToken, unfinishedReceive, type ReceiveAttachment, type ReceiveParams, type ReceiveProgress } from '../../fs/receive';
import { fileInput, pipeInput, type ByteInput } from '../../fs/stream-input';
import { bool, localPath, optStr } from '../args';
import { progressOf, type AdminOp, type OpContext } from '../context';

export interface ReceiveArgs {
  /** Absolute path of the stream file, or `-` for the caller's stdin (local runs only). */
  input: string;
  /** Where the tree goes (a full stream: a new path or an empty directory, default /); an incremental goes where its base is. */
  path?: string;
  /** The received snapshot's name here (default: the sender's). */
  snapshot?: string;
  /** An incremental: roll the destination back to the base first if it changed since. */
  force?: boolean;
  /** Go on with the unfinished receive, reading the same stream again from `input`. */
  resume?: boolean;
}

export interface ReceiveData {
  job: JobView;
  /** The snapshot recorded here, its guid (the sender's) and where its tree is. */
  snapshot: string;
  guid: string;
  root: string;
  /** An incremental's base, as the sender named it, and this pool's snapshot holding it. */
  from: string | null;
  base: string | null;
  entries: number;
  deletes: number;
  dataRecords: number;
  /** Bytes of the stream. */
  bytes: number;
  resumed: boolean;
}

export interface ReceiveStatusData {
  /** The unfinished receive, or null. */
  receive: null | {
    job: JobView;
    /** job:offset:record: where `receive --resume` goes on. */
    token: string;
    offset: number;
    record: number;
    input: string;
    stream: string;
    from: string | null;
    dest: string;
    snapshot: string;
    waiting: string | null;
  };
}

async function openInput(input: string, ctx: OpContext): Promise<ByteInput> {
  if (input !== '-') return fileInput(input);
  if (!ctx.stdio) throw new DfsError('EPOOLSERVED', 'receive from stdin needs the caller\'s stdin, which cannot be sent to a coordinator; save the stream to a file and give -i FILE');
  return pipeInput(ctx.stdio.stdin);
}

/** Run job `id` here with its stream, a progress bar following the stream's bytes. */
async function runHere(engine: Engine, ctx: OpContext, id: number, attachment: ReceiveAttachment): Promise<JobView> {
  const bar = progressOf(ctx, 'receiving', attachment.input.size ?? 0);
  let shown = (engine.meta.getJob(id)!.progress as Partial<ReceiveProgress>).offset ?? 0;
  bar.add(shown);
  const onProgress = (jobId: number): void => {
    if (jobId !== id) return;
    const p = engine.jobs.view(engine.meta.getJob(id)!).progress as Partial<ReceiveProgress>;
    bar.add((p.offset ?? shown) - shown);
    shown = p.offset ?? shown;
  };
  engine.jobs.on('progress', onProgress);
  try {
    return await engine.jobs.runToEnd(id, attachment);
  } finally {
    engine.jobs.off('progress', onProgress);
    bar.stop();
  }
}

/** The answer for a receive job that stopped: its data when done, else its error (with the code it failed with). */
function outcome(view: JobView, resumed: boolean): ReceiveData {
  const params = view.params as unknown as ReceiveParams;
  const p = view.progress as Partial<ReceiveProgress>;
  if (view.state === 'failed') {
    const f = p.failure ?? {};
    const { code, message, ...details } = f as { code?: unknown; message?: unknown };
    throw new DfsError(isErrorCode(code) ? code : 'EJOBFAILED', typeof message === 'string' ? message : `receive job ${view.id} failed: ${view.error ?? ''}`,
      undefined, { job: view.id, ...details });
  }
  if (view.state === 'cancelled') throw new DfsError('ECANCELED', `receive job ${view.id} was cancelled; nothing of its stream was applied`, undefined, { job: view.id });
  if (view.state === 'paused') {
    throw new DfsError('EBUSY', `receive job ${view.id} is paused, waiting for ${p.waiting ?? 'a resume (`jobs POOL --resume`)'}`, undefined, { job: view.id, token: resumeToken(view) });
  }
  if (view.state !== 'done') {
    throw new DfsError('EINTERRUPTED', `receive job ${view.id} was interrupted at byte ${p.offset ?? 0} (record ${p.record ?? 0}): run \`dynamicfs receive POOL --resume\` with the same stream`,
      undefined, { job: view.id, token: resumeToken(view) });
  }
  return { job: view, snapshot: params.snapshot, guid: params.guid, root: params.dest, from: params.fromName, base: params.base, entries: p.entries ?? 0,
    deletes: p.deletes ?? 0, dataRecords: p.dataRecords ?? 0, bytes: p.offset ?? 0, resumed };
}

export const receive: AdminOp<ReceiveArgs, ReceiveData> = async (engine, args, ctx) => {
  const input = localPath('receive', args, 'input', true);
  const resume = bool('receive', args, 'resume');
  const force = bool('receive', args, 'force');
  const dest = optStr('receive', args, 'path');
  const snapshot = optStr('receive', args, 'snapshot');
  if (resume) {
    if (dest !== undefined || snapshot !== undefined || force) throw new DfsError('EINVAL', 'receive --resume goes on as the receive began: give no --path, --snapshot or --force');
    const job = unfinishedReceive(engine.meta);
    if (!job) throw new DfsError('ENOENT', 'there is no unfinished receive to resume (`dynamicfs jobs POOL` lists the ended ones)');
    if (job.params.input !== input) engine.meta.transact((tx) => tx.updateJob(job.id, { params: { ...job.params, input } }));
    if (engine.jobs.background) {
      if (input === '-') throw new DfsError('EPOOLSERVED', 'receive from stdin cannot go through a coordinator; give -i FILE');
      if (job.state === 'paused') engine.jobs.resume(job.id);
      return outcome(await engine.jobs.wait(job.id), true);
    }
    const stream = await openInput(input, ctx);
    try {
      // Paused (it waited for its stdin, or for files to close): queued again, then run here.
      if (job.state === 'paused') engine.jobs.resume(job.id);
      return outcome(await runHere(engine, ctx, job.id, { input: stream }), true);
    } finally {
      await stream.close();
    }
  }
  const stream = await openInput(input, ctx);
  try {
    const begun = await beginReceive(engine, stream, { inputName: input === '-' ? 'stdin' : input, input, dest, snapshot, force, reqId: ctx.reqId });
    if (engine.jobs.background) return outcome(await engine.jobs.wait(begun.id), false);
    return outcome(await runHere(engine, ctx, begun.id, { input: stream, reader: begun.reader }), false);
  } finally {
    await stream.close();
  }
};

export const receiveStatus: AdminOp<Record<string, never>, ReceiveStatusData> = async (engine) => {
  const job = unfinishedReceive(engine.meta);
  if (!job) return { receive: null };
  const params = job.params as unknown as ReceiveParams;
  const p = job.progress as Partial<ReceiveProgress>;
  return { receive: { job: engine.jobs.view(job), token: resumeToken(job), offset: p.offset ?? 0, record: p.record ?? 0, input: params.input,
    stream: params.stream, from: params.fromName, dest: params.dest, snapshot: params.snapshot, waiting: p.waiting ?? null } };
};
