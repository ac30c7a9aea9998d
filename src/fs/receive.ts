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
import { crashArmed, crashPoint } from '../engine/crash-points';
import { JobInterrupted, type JobContext, type JobKind, type JobProgress } from '../engine/jobs';
import type { Extent, JobRow, Snapshot } from '../meta/records';
import type { Txn } from '../meta/store';
import type { Policy } from '../pool/policy';
import { checkSnapshotName, snapshotNamed } from './snapshots';
import { lookupPath, joinPath, parsePath } from './paths';
import { decodeBody, RECORD_TYPES, RecordReader, type ReadRecord, type RecordType, type StreamEntry, type StreamExtent, type StreamHeader } from './stream-format';
import { fileInput, type ByteInput } from './stream-input';
import { applyEntry, createStaging, discardTree, entryPolicy, publishTree, recordExtent, writeEntryExtent } from './tree-apply';
import { mergeIncremental, refuseChanged, stagedData, stagedNew, type MergePlan } from './tree-merge';

/** Records per transaction (the crash tests make it small), and data bytes at most. */
const BATCH_RECORDS = Number(process.env.DYNAMICFS_RECEIVE_BATCH ?? 256);
const BATCH_BYTES = 64 * 1024 * 1024;
/** Extents being written at once. */
const WRITE_DEPTH = 8;
/** The staging root's attributes holding an incremental's records, by record number. */
const PLAN_XATTR = 'dynamicfs.receive.';

export interface ReceiveParams {
  /** Where the stream is read from: an absolute file path, or '-' (the caller's stdin: only that caller can resume it). */
  input: string;
  /** The destination, canonical. */
  dest: string;
  /** The name the received snapshot gets here. */
  snapshot: string;
  /** The stream's header: its snapshot's name, guid and time; an incremental's base. */
  stream: string;
  guid: string;
  createdMs: number;
  from: string | null;
  fromName: string | null;
  /** This pool's snapshot holding the base (an incremental's). */
  base: string | null;
  /** Roll the destination back to the base first if it changed since. */
  force: boolean;
  /** The staging root (tree-apply.ts). */
  staging: number;
}

export interface ReceiveProgress extends JobProgress {
  /** The cursor: byte offset and number of the next record, and the key it is verified with (hex). */
  offset: number;
  record: number;
  key: string;
  entries: number;
  deletes: number;
  dataRecords: number;
  /** The entry whose data records were under way at the cursor: its record number, offset, key, and the inode taking its extents. */
  pending: { entry: number; offset: number; key: string; ino: number } | null;
  phase: 'receiving' | 'publishing' | 'done';
  /** Why a paused receive waits (its stream, files open in the mount). */
  waiting: string | null;
  /** A failed receive's error, with the record it names. */
  failure: Record<string, unknown> | null;
}

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
    if (p.phase === 'receiving') await receiveRecords(engine, ctx, reader, pendingEntry);
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

/** The file whose data records are expected next. */
interface Pending {
  record: ReadRecord & { type: 'entry' };
  /** Its data extents still to come, in order. */
  remaining: StreamExtent[];
  policy: Policy;
  /** The inode taking its extents, once its entry is applied. */
  ino?: number;
}

type Op =
  | { t: 'entry'; rec: ReadRecord & { type: 'entry' }; pending?: Pending }
  | { t: 'delete'; rec: ReadRecord & { type: 'delete' } }
  | { t: 'data'; rec: ReadRecord & { type: 'data' }; pending: Pending; write: Promise<Extent> };

async function receiveRecords(engine: Engine, ctx: JobContext, reader: RecordReader, pendingEntry: ReadRecord | undefined): Promise<void> {
  const params = ctx.params as unknown as ReceiveParams;
  const p = ctx.progress as ReceiveProgress;
  const meta = engine.meta;
  const incremental = params.from !== null;
  let pending: Pending | undefined;
  if (p.pending && pendingEntry?.type === 'entry') {
    const have = new Set(meta.extentsOf(p.pending.ino).map((e) => e.offset));
    pending = { record: pendingEntry as Pending['record'], remaining: pendingEntry.body.extents.filter((x) => x.data && !have.has(x.offset)),
      policy: entryPolicy(engine, pendingEntry.body), ino: p.pending.ino };
  } else if (p.pending) {
    throw new DfsError('EINTERNAL', `receive job ${ctx.id}: the entry under way (record ${p.pending.entry}) could not be read again`);
  }
  let ops: Op[] = [];
  let batchBytes = 0;
  let keyBefore = reader.state.key;
  /** Where each record in `ops` starts and the key it was read with: the cursor of the entry under way. */
  const at = new Map<number, { offset: number; key: Buffer }>();
  if (p.pending) at.set(p.pending.entry, { offset: p.pending.offset, key: Buffer.from(p.pending.key, 'hex') });
  const flush = async (ended: boolean): Promise<void> => {
    const settled = await Promise.allSettled(ops.flatMap((o) => (o.t === 'data' ? [o.write] : [])));
    const written = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.id] : []));
    const failed = settled.find((s) => s.status === 'rejected');
    try {
      if (failed) throw (failed as PromiseRejectedResult).reason;
      const extents = settled.map((s) => (s as PromiseFulfilledResult<Extent>).value);
      meta.transact((tx) => {
        let next = 0;
        for (const op of ops) {
          if (op.t === 'entry') {
            const ino = applyRecord(tx, engine, params, op.rec);
            if (op.pending) op.pending.ino = ino;
            p.entries++;
          } else if (op.t === 'delete') {
            tx.setXattr(params.staging, planName(op.rec.number), planBody(op.rec));
            p.deletes++;
          } else {
            recordExtent(tx, op.pending.ino!, extents[next++]!);
            p.dataRecords++;
            p.extentsDone++;
          }
        }
        p.offset = reader.state.offset;
        p.record = reader.state.record;
        p.key = reader.state.key.toString('hex');
        p.bytesDone = p.offset;
        p.pending = pending && pending.remaining.length > 0
          ? { entry: pending.record.number, offset: at.get(pending.record.number)!.offset, key: at.get(pending.record.number)!.key.toString('hex'), ino: pending.ino! }
          : null;
        if (ended) p.phase = 'publishing';
        ctx.checkpoint(tx);
      });
    } catch (err) {
      if (ended) p.phase = 'receiving';
      throw err;
    } finally {
      engine.releaseExtents(written);
    }
    if (crashArmed('receive-batch')) await engine.txg.commit('crash-point');
    crashPoint('receive-batch');
    ops = [];
    batchBytes = 0;
    if (pending) {
      const keep = at.get(pending.record.number);
      at.clear();
      if (keep) at.set(pending.record.number, keep);
    } else {
      at.clear();
    }
  };
  for (;;) {
    await ctx.step();
    keyBefore = Buffer.from(reader.state.key);
    const rec = await reader.next();
    if (!rec) throw new DfsError('EFORMAT', 'the stream ended without its end record');
    const where = `record ${rec.number} (${rec.type}) at byte ${rec.offset}`;
    const bad = (what: string): DfsError => new DfsError('EFORMAT', `${where}: ${what}`, undefined, { offset: rec.offset, record: rec.number, recordType: rec.type });
    if (rec.type !== 'data' && pending && pending.remaining.length > 0) {
      throw bad(`the data of entry ${pending.record.number} (${pending.record.body.path}) stops short: ${pending.remaining.length} extents never came`);
    }
    if (rec.type === 'end') {
      const e = rec.body;
      if (e.entries !== p.entries + ops.filter((o) => o.t === 'entry').length || e.deletes !== p.deletes + ops.filter((o) => o.t === 'delete').length
        || e.data !== p.dataRecords + ops.filter((o) => o.t === 'data').length) {
        throw bad('its counts differ from the records that came');
      }
      pending = undefined;
      await flush(true);
      return;
    }
    at.set(rec.number, { offset: rec.offset, key: keyBefore });
    if (rec.type === 'entry') {
      const e = rec.body;
      if (!incremental && (e.base !== null)) throw bad('a full stream\'s entry names a base');
      const data = e.extents.filter((x) => x.data);
      if (!incremental && data.length !== e.extents.length) throw bad('a full stream carries every extent\'s data');
      pending = data.length > 0 ? { record: rec as Pending['record'], remaining: data, policy: entryPolicy(engine, e) } : undefined;
      ops.push({ t: 'entry', rec: rec as Pending['record'], pending });
    } else if (rec.type === 'delete') {
      if (!incremental) throw bad('a full stream deletes nothing');
      ops.push({ t: 'delete', rec: rec as ReadRecord & { type: 'delete' } });
    } else if (rec.type === 'data') {
      const d = rec.body;
      const want = pending?.remaining[0];
      if (!pending || !want || d.entry !== pending.record.number || d.path !== pending.record.body.path || d.offset !== want.offset || !d.hash.equals(want.hash)) {
        throw bad(pending ? `it is not the next data of entry ${pending.record.number} (${pending.record.body.path}, offset ${want?.offset})` : 'no entry awaits data');
      }
      pending.remaining.shift();
      const write = writeEntryExtent(engine, want, d.bytes, pending.policy, `${where}, ${d.path} at offset ${d.offset}`);
      write.catch(() => undefined); // awaited at the flush
      ops.push({ t: 'data', rec: rec as ReadRecord & { type: 'data' }, pending, write });
      batchBytes += d.bytes.length;
      const inFlight = ops.filter((o) => o.t === 'data');
      if (inFlight.length >= WRITE_DEPTH) await Promise.allSettled([inFlight[inFlight.length - WRITE_DEPTH]!.write]);
    } else {
      throw bad('a second header');
    }
    if (ops.length >= BATCH_RECORDS || batchBytes >= BATCH_BYTES) await flush(false);
  }
}

const planName = (record: number): string => `${PLAN_XATTR}${String(record).padStart(12, '0')}`;
const planBody = (rec: ReadRecord): Buffer => Buffer.concat([Buffer.from([RECORD_TYPES[rec.type]]), rec.raw]);

/** Inside `tx`: one entry record applied to the staging; returns the inode its data records go to. */
function applyRecord(tx: Txn, engine: Engine, params: ReceiveParams, rec: ReadRecord & { type: 'entry' }): number {
  const meta = engine.meta;
  const e = rec.body;
  if (params.from === null) return applyEntry(tx, meta, params.staging, e);
  tx.setXattr(params.staging, planName(rec.number), planBody(rec));
  if (e.link !== null) return 0;
  if (e.base === null) return applyEntry(tx, meta, params.staging, { ...e, path: stagedNew(rec.number) });
  if (!e.extents.some((x) => x.data)) return 0;
  // A changed file's new extents wait on an inode of their own until the merge adopts them.
  return applyEntry(tx, meta, params.staging, { path: stagedData(rec.number), kind: 'file', mode: 0o600, uid: 0, gid: 0, size: e.size, atimeMs: 0, mtimeMs: 0,
    ctimeMs: 0, rdev: 0, target: null, xattrs: [], link: null, extents: [] });
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

