/**
 * `receive`: a send stream (stream-format.ts) applied to this pool at a destination, as the
 * persistent job `receive`. Every record is verified (its keyed BLAKE3) and every extent's
 * bytes against the hash its entry names before anything is committed; nothing shows
 * until the last transaction:
 *   - a full stream is built under an unnamed staging root (tree-apply.ts), a batch of
 *     records per transaction with the job's cursor, and published at the destination
 *     in one transaction;
 *   - an incremental keeps its entry and delete records as attributes of the staging root
 *     (`dynamicfs.receive.<record>`, the body behind its type byte), stages new inodes
 *     and the new extents of changed files under it, and tree-merge.ts applies them in
 *     one transaction.
 * That last transaction also records the received snapshot with the sender's guid, at
 * the destination, so a later incremental finds its base by guid, whatever it is named.
 *
 * The cursor (progress: offset, record number, the chain's key, and the file whose data
 * was under way) moves with each batch, so a receive killed anywhere resumes after its
 * last committed record: from a file by seeking there, from a pipe by reading the stream
 * again, each record verified, up to it. A damaged or truncated stream, a failure or a
 * cancel drops everything staged.
 */
import { DfsError, toDfsError } from '../errors';
import type { DroppedExtent, Engine } from '../engine/engine';
import { JobInterrupted, type JobContext, type JobKind } from '../engine/jobs';
import type { JobRow, Snapshot } from '../meta/records';
import { checkSnapshotName, snapshotNamed } from './snapshots';
import { lookupPath, joinPath, parsePath } from './paths';
import { RecordApplier } from './receive-records';
import { PLAN_XATTR, type ReceiveParams, type ReceiveProgress } from './receive-state';
import { decodeBody, RECORD_TYPES, RecordReader, type ReadRecord, type RecordType, type StreamEntry, type StreamHeader } from './stream-format';
import { fileInput, type ByteInput } from './stream-input';
import { createStaging, discardTree, publishTree } from './tree-apply';
import { mergeIncremental, refuseChanged, type MergePlan } from './tree-merge';


/** What the process that starts or resumes a receive hands its job: the open stream (and, fresh, the reader past its header). */
export interface ReceiveAttachment {
  input: ByteInput;
  reader?: RecordReader;
}

/** The receive job of this pool that has not ended (one at a time), if any. */
export function unfinishedReceive(meta: Engine['meta']): JobRow | undefined {
  return meta.jobs().find((j) => j.kind === 'receive' && (j.state === 'queued' || j.state === 'running' || j.state === 'paused'));
}

/** The resume token `receive --status` prints: job, offset, record. */
export function resumeToken(job: JobRow): string {
  const p = job.progress as Partial<ReceiveProgress>;
  return `${job.id}:${p.offset ?? 0}:${p.record ?? 0}`;
}

/** The snapshot here that an incremental from `guid` applies to at `dest` (or, without dest, wherever the only one is). */
export function baseFor(meta: Engine['meta'], header: StreamHeader, dest: string | undefined): Snapshot {
  const found = meta.snapshotsByGuid(header.from!);
  const hex = header.from!.toString('hex');
  if (found.length === 0) {
    throw new DfsError('ENOENT', `this stream is incremental from snapshot "${header.fromName}" (guid ${hex}), which this pool does not have: `
      + `receive that snapshot first (its full stream, or an incremental to it), then this one`, undefined, { guid: hex, snapshot: header.fromName });
  }
  if (dest === undefined) {
    if (found.length === 1) return found[0]!;
    throw new DfsError('EINVAL', `snapshot ${hex} ("${header.fromName}") is in this pool at ${found.map((s) => s.root).join(', ')}: say which with --path`);
  }
  const at = found.find((s) => s.root === dest);
  if (!at) {
    throw new DfsError('ENOENT', `this stream's base "${header.fromName}" (guid ${hex}) is in this pool at ${found.map((s) => s.root).join(', ')}, not at ${dest}: `
      + 'receive an incremental where its base is (--path)', dest, { guid: hex, snapshot: header.fromName });
  }
  return at;
}

export interface BeginOptions {
  /** What the input is, for messages: a file's path, or 'stdin'. */
  inputName: string;
  /** ParamsStored: the file's absolute path, or '-'. */
  input: string;
  dest?: string;
  snapshot?: string;
  force: boolean;
  reqId?: string;
}

/**
 * Read the stream's header, check it against this pool (a free snapshot name, the same
 * extent size, a destination that can take it, an incremental's base here), and create
 * the receive job with its staging root in one transaction. Nothing else is written.
 */
export async function beginReceive(engine: Engine, input: ByteInput, o: BeginOptions): Promise<{ id: number; reader: RecordReader; header: StreamHeader }> {
  const busy = unfinishedReceive(engine.meta);
  if (busy) {
    throw new DfsError('EBUSY', `receive job ${busy.id} is unfinished (${busy.state}, at byte ${String(busy.progress.offset)} of "${String(busy.params.stream)}"): `
      + `resume it with \`dynamicfs receive POOL --resume\`, or cancel it with \`dynamicfs jobs POOL --cancel ${busy.id}\``, undefined, { job: busy.id });
  }
  const reader = await RecordReader.open(input, o.inputName);
  const first = await reader.next();
  if (!first || first.type !== 'header') throw new DfsError('EFORMAT', `${o.inputName} has no header record`);
  const h = first.body;
  const name = checkSnapshotName(o.snapshot ?? h.name);
  if (engine.meta.getSnapshot(name)) {
    throw new DfsError('EEXIST', `a snapshot named "${name}" exists in this pool; name the received one with --snapshot NAME`, name);
  }
  const { extentSize } = engine.pool.superblock;
  if (h.extentSize !== extentSize) {
    throw new DfsError('EINVAL', `the stream's files are cut in ${h.extentSize}-byte extents and this pool's in ${extentSize}: receive it into a pool `
      + `made with --extent-size ${h.extentSize}`);
  }
  let dest: string;
  let base: Snapshot | undefined;
  if (h.from === null) {
    dest = joinPath(parsePath(o.dest ?? '/'));
    const at = lookupPath(engine.meta, dest);
    if (at.inode && at.inode.kind !== 'dir') throw new DfsError('EEXIST', `${dest} exists and is a ${at.inode.kind}; receive a full stream into a new path or an empty directory`, dest);
    if (at.inode && engine.meta.readdir(at.inode.ino).length > 0) {
      throw new DfsError('ENOTEMPTY', `${dest} is a directory that is not empty; receive a full stream into a new path (--path) or an empty directory`, dest);
    }
  } else {
    base = baseFor(engine.meta, h, o.dest === undefined ? undefined : joinPath(parsePath(o.dest)));
    dest = base.root;
    if (!o.force) refuseChanged(engine.meta, base, dest);
  }
  if (engine.meta.snapshotsByGuid(h.guid).some((s) => s.root === dest)) {
    throw new DfsError('EEXIST', `snapshot "${h.name}" (guid ${h.guid.toString('hex')}) was received at ${dest} already`, dest);
  }
  engine.placement.check(engine.pool.policy);
  const params: ReceiveParams = { input: o.input, dest, snapshot: name, stream: h.name, guid: h.guid.toString('hex'), createdMs: h.createdMs,
    from: h.from?.toString('hex') ?? null, fromName: h.fromName, base: base?.name ?? null, force: o.force, staging: 0 };
  const progress: ReceiveProgress = { extentsDone: 0, extentsTotal: 0, bytesDone: reader.state.offset, bytesTotal: input.size ?? 0,
    offset: reader.state.offset, record: reader.state.record, key: reader.state.key.toString('hex'), entries: 0, deletes: 0, dataRecords: 0,
    pending: null, phase: 'receiving', waiting: null, failure: null };
  const id = engine.meta.transact((tx) => {
    params.staging = createStaging(tx);
    return engine.jobs.createIn(tx, 'receive', { ...params }, progress, o.reqId);
  });
  engine.jobs.queued(id);
  return { id, reader, header: h };
}

/** The `receive` job kind: a cancel drops what it staged, even when it is not running here. */
export const receiveKind: JobKind = {
  run: (engine, ctx) => receiveJob(engine as Engine, ctx),
  undoesOnCancel: true,
  cancelRefused: (_engine, row) => ((row.progress as Partial<ReceiveProgress>).phase === 'done' ? 'it has made the received tree visible already' : undefined),
};

async function receiveJob(engine: Engine, ctx: JobContext): Promise<void> {
  const params = ctx.params as unknown as ReceiveParams;
  const p = ctx.progress as ReceiveProgress;
  const attached = ctx.attachment as ReceiveAttachment | undefined;
  let opened: ByteInput | undefined;
  try {
    await ctx.step(); // a cancel of a job not running here throws now, to drop its staging
    if (p.phase === 'done') return;
    if (!engine.meta.getInode(params.staging)) {
      throw new DfsError('ENOENT', `receive job ${ctx.id}'s staging (inode ${params.staging}) is gone; receive the stream again`);
    }
    let reader: RecordReader;
    let pendingEntry: ReadRecord | undefined;
    if (attached?.reader) {
      reader = attached.reader;
    } else {
      const input = attached?.input ?? (params.input === '-' ? undefined : (opened = await fileInput(params.input)));
      if (!input) {
        p.waiting = 'its stream, read from stdin: run `dynamicfs receive POOL --resume` with the same stream on stdin (or -i FILE)';
        throw new JobInterrupted('pause');
      }
      ({ reader, pendingEntry } = await resumeAt(input, params, p, ctx.id));
    }
    p.waiting = null;
    if (p.phase === 'receiving') await new RecordApplier(engine, ctx, reader, pendingEntry).run();
    await publish(engine, ctx);
  } catch (err) {
    if (err instanceof JobInterrupted && err.reason !== 'cancel') throw err;
    if (p.phase !== 'done') {
      if (!(err instanceof JobInterrupted)) {
        const e = toDfsError(err);
        p.failure = { code: e.code, message: e.message, ...(e.details ?? {}) };
      }
      const dropped = engine.meta.transact((tx) => discardTree(tx, engine.meta, params.staging));
      await engine.removeFragments(dropped);
    }
    throw err;
  } finally {
    await opened?.close();
  }
}

/** A reader positioned at the job's cursor in `input` (read from its start), with the entry whose data was under way. */
async function resumeAt(input: ByteInput, params: ReceiveParams, p: ReceiveProgress, job: number): Promise<{ reader: RecordReader; pendingEntry?: ReadRecord }> {
  const name = params.input === '-' ? 'stdin' : params.input;
  const r = await RecordReader.open(input, name);
  const head = await r.next();
  if (!head || head.type !== 'header' || head.body.guid.toString('hex') !== params.guid || (head.body.from?.toString('hex') ?? null) !== params.from) {
    throw new DfsError('EINVAL', `${name} is not the stream receive job ${job} stopped in (that was "${params.stream}"${params.fromName ? ` from "${params.fromName}"` : ''}, guid ${params.guid})`);
  }
  const key = Buffer.from(p.key, 'hex');
  let pendingEntry: ReadRecord | undefined;
  if (input.size !== undefined) {
    // A file: straight to the entry under way, then to the cursor.
    if (p.pending) {
      await input.skipTo(p.pending.offset);
      pendingEntry = (await new RecordReader(input, { offset: p.pending.offset, record: p.pending.entry, key: Buffer.from(p.pending.key, 'hex') }).next()) ?? undefined;
    }
    await input.skipTo(p.offset);
    return { reader: new RecordReader(input, { offset: p.offset, record: p.record, key }), pendingEntry };
  }
  // A pipe: every record up to the cursor is read and verified again, and must chain to the key the cursor holds.
  while (r.state.record < p.record) {
    const rec = await r.next();
    if (!rec) throw new DfsError('EFORMAT', `${name} ends at record ${r.state.record}, before record ${p.record} where receive job ${job} stopped`);
    if (p.pending && rec.number === p.pending.entry) pendingEntry = rec;
  }
  if (r.state.offset !== p.offset || !r.state.key.equals(key)) throw new DfsError('EINVAL', `${name} does not continue the stream receive job ${job} stopped in`);
  return { reader: r, pendingEntry };
}

/** The incremental's entry and delete records, as the staging root keeps them, in stream order. */
function readPlan(engine: Engine, staging: number): MergePlan {
  const meta = engine.meta;
  const plan: MergePlan = { deletes: [], entries: [] };
  const names = meta.listXattrs(staging).filter((n) => n.startsWith(PLAN_XATTR)).sort();
  for (const n of names) {
    const v = meta.getXattr(staging, n)!;
    const number = Number(n.slice(PLAN_XATTR.length));
    const type = [...Object.entries(RECORD_TYPES)].find(([, t]) => t === v[0])?.[0] as RecordType | undefined;
    const r = type && decodeBody(type, v.subarray(1), `the receive's record ${number}`);
    if (r?.type === 'entry') plan.entries.push({ number, entry: r.body as StreamEntry });
    else if (r?.type === 'delete') plan.deletes.push(r.body.path);
    else throw new DfsError('EINTERNAL', `the receive kept record ${number} of an unexpected type`);
  }
  return plan;
}

/** The last transaction: the tree shows at its destination, with the received snapshot. */
async function publish(engine: Engine, ctx: JobContext): Promise<void> {
  const params = ctx.params as unknown as ReceiveParams;
  const p = ctx.progress as ReceiveProgress;
  const meta = engine.meta;
  const incremental = params.from !== null;
  if (incremental && (engine.mountFiles?.openCount() ?? 0) > 0) {
    // In-place changes under open files would go unseen by them: wait for them to close (receive --resume).
    p.waiting = `${engine.mountFiles!.openCount()} files open in the mount to close: then run \`dynamicfs receive POOL --resume\``;
    throw new JobInterrupted('pause');
  }
  const plan = incremental ? readPlan(engine, params.staging) : undefined;
  const base = incremental ? snapshotNamed(meta, params.base!) : undefined;
  if (base && base.guid.toString('hex') !== params.from) throw new DfsError('ENOENT', `snapshot "${base.name}" is no longer this stream's base (guid ${params.from})`);
  ctx.refuseCancel('the received tree is being made visible');
  let dropped: DroppedExtent[] = [];
  try {
    meta.transact((tx) => {
      let root = params.dest;
      if (plan) {
        dropped = mergeIncremental(tx, meta, params.staging, params.dest, base!, plan, params.force);
      } else {
        root = publishTree(tx, meta, params.staging, params.dest).path;
      }
      // Last in its transaction: the snapshot is of the generation this transaction commits as.
      tx.createSnapshot(params.snapshot, meta.generation() + 1, params.createdMs, Buffer.from(params.guid, 'hex'), root);
      p.phase = 'done';
      ctx.checkpoint(tx);
    });
  } catch (err) {
    p.phase = 'publishing';
    throw err;
  }
  await engine.txg.commit('receive');
  await engine.removeFragments(dropped);
}


export type { ReceiveParams, ReceiveProgress };
