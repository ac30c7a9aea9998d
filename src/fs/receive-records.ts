/**
 * A receive's records applied to its staging, a batch per transaction (fs/receive.ts):
 * entries (a full stream's into the tree being built; an incremental's kept as the staging
 * root's attributes, with new inodes and changed files' new extents staged beside them),
 * deletes (kept likewise) and data (each extent written through the engine's writer,
 * several at once, and checked against its hash). A batch's transaction moves the job's
 * cursor with the work it covers: after a crash, the staging holds exactly the records
 * before the cursor. Extents written for a batch that is given up are deleted at once.
 */
import { DfsError } from '../errors';
import type { Engine } from '../engine/engine';
import { crashArmed, crashPoint } from '../engine/crash-points';
import type { JobContext } from '../engine/jobs';
import type { Extent } from '../meta/records';
import type { Txn } from '../meta/store';
import type { Policy } from '../pool/policy';
import { RECORD_TYPES, type ReadRecord, type RecordReader, type StreamExtent } from './stream-format';
import { abandonExtents, applyEntry, entryPolicy, recordExtent, writeEntryExtent } from './tree-apply';
import { stagedData, stagedNew } from './tree-merge';
import { planName, type ReceiveParams, type ReceiveProgress } from './receive-state';

/** Records per transaction (the crash tests make it small), and data bytes at most. */
const BATCH_RECORDS = Number(process.env.DYNAMICFS_RECEIVE_BATCH ?? 256);
const BATCH_BYTES = 64 * 1024 * 1024;
/** Extents being written at once. */
const WRITE_DEPTH = 8;
const planBody = (rec: ReadRecord): Buffer => Buffer.concat([Buffer.from([RECORD_TYPES[rec.type]]), rec.raw]);

type EntryRecord = ReadRecord & { type: 'entry' };

/** The file whose data records are expected next. */
interface Pending {
  record: EntryRecord;
  /** Its data extents still to come, in order. */
  remaining: StreamExtent[];
  policy: Policy;
  /** The inode taking its extents, once its entry is applied. */
  ino?: number;
}

type Op =
  | { t: 'entry'; rec: EntryRecord; pending?: Pending }
  | { t: 'delete'; rec: ReadRecord & { type: 'delete' } }
  | { t: 'data'; pending: Pending; write: Promise<Extent> };

export class RecordApplier {
  private readonly params: ReceiveParams;
  private readonly p: ReceiveProgress;
  private pending: Pending | undefined;
  private ops: Op[] = [];
  private batchBytes = 0;
  /** Where each record of the batch (and the entry under way) starts, and the key it was read with. */
  private readonly at = new Map<number, { offset: number; key: Buffer }>();

  /** `pendingEntry`: the entry whose data was under way at the cursor, read again (a resumed receive). */
  constructor(private readonly engine: Engine, private readonly ctx: JobContext, private readonly reader: RecordReader, pendingEntry?: ReadRecord) {
    this.params = ctx.params as unknown as ReceiveParams;
    this.p = ctx.progress as ReceiveProgress;
    const under = this.p.pending;
    if (!under) return;
    if (pendingEntry?.type !== 'entry') throw new DfsError('EINTERNAL', `receive job ${ctx.id}: the entry under way (record ${under.entry}) could not be read again`);
    const have = new Set(engine.meta.extentsOf(under.ino).map((e) => e.offset));
    this.pending = { record: pendingEntry, remaining: pendingEntry.body.extents.filter((x) => x.data && !have.has(x.offset)),
      policy: entryPolicy(engine, pendingEntry.body), ino: under.ino };
    this.at.set(under.entry, { offset: under.offset, key: Buffer.from(under.key, 'hex') });
  }

  /** Read, verify and apply every record up to the end record; the last batch moves the job to publishing. */
  async run(): Promise<void> {
    try {
      for (;;) {
        await this.ctx.step();
        if (await this.next()) return;
      }
    } catch (err) {
      // The batch under way is given up: the extents written for it go (those committed go with the staging).
      await this.written().then((extents) => abandonExtents(this.engine, extents), () => undefined);
      this.ops = [];
      throw err;
    }
  }

  /** One record; true once the end record is applied. */
  private async next(): Promise<boolean> {
    const keyBefore = this.reader.state.key;
    const rec = await this.reader.next();
    if (!rec) throw new DfsError('EFORMAT', 'the stream ended without its end record');
    const bad = (what: string): DfsError =>
      new DfsError('EFORMAT', `record ${rec.number} (${rec.type}) at byte ${rec.offset}: ${what}`, undefined, { offset: rec.offset, record: rec.number, recordType: rec.type });
    const pending = this.pending;
    if (rec.type !== 'data' && pending && pending.remaining.length > 0) {
      throw bad(`the data of entry ${pending.record.number} (${pending.record.body.path}) stops short: ${pending.remaining.length} extents never came`);
    }
    const incremental = this.params.from !== null;
    switch (rec.type) {
      case 'end': {
        const count = (t: Op['t']): number => this.ops.filter((o) => o.t === t).length;
        const e = rec.body;
        if (e.entries !== this.p.entries + count('entry') || e.deletes !== this.p.deletes + count('delete') || e.data !== this.p.dataRecords + count('data')) {
          throw bad('its counts differ from the records that came');
        }
        this.pending = undefined;
        await this.flush(true);
        return true;
      }
      case 'entry': {
        const e = rec.body;
        if (!incremental && e.base !== null) throw bad('a full stream\'s entry names a base');
        const data = e.extents.filter((x) => x.data);
        if (!incremental && data.length !== e.extents.length) throw bad('a full stream carries every extent\'s data');
        this.pending = data.length > 0 ? { record: rec as EntryRecord, remaining: data, policy: entryPolicy(this.engine, e) } : undefined;
        this.ops.push({ t: 'entry', rec: rec as EntryRecord, pending: this.pending });
        break;
      }
      case 'delete':
        if (!incremental) throw bad('a full stream deletes nothing');
        this.ops.push({ t: 'delete', rec: rec as ReadRecord & { type: 'delete' } });
        break;
      case 'data': {
        const d = rec.body;
        const want = pending?.remaining[0];
        if (!pending || !want || d.entry !== pending.record.number || d.path !== pending.record.body.path || d.offset !== want.offset || !d.hash.equals(want.hash)) {
          throw bad(pending ? `it is not the next data of entry ${pending.record.number} (${pending.record.body.path}, offset ${want?.offset})` : 'no entry awaits data');
        }
        pending.remaining.shift();
        const write = writeEntryExtent(this.engine, want, d.bytes, pending.policy, `record ${rec.number} (data) at byte ${rec.offset}, ${d.path} at offset ${d.offset}`);
        write.catch(() => undefined); // awaited with its batch
        this.ops.push({ t: 'data', pending, write });
        this.batchBytes += d.bytes.length;
        const writes = this.ops.flatMap((o) => (o.t === 'data' ? [o.write] : []));
        if (writes.length >= WRITE_DEPTH) await Promise.allSettled([writes[writes.length - WRITE_DEPTH]]);
        break;
      }
      case 'header':
        throw bad('a second header');
    }
    this.at.set(rec.number, { offset: rec.offset, key: keyBefore });
    if (this.ops.length >= BATCH_RECORDS || this.batchBytes >= BATCH_BYTES) await this.flush(false);
    return false;
  }

  /** The batch's extents once all are written; a failed write fails the batch (the others' fragments deleted). */
  private async written(): Promise<Extent[]> {
    const settled = await Promise.allSettled(this.ops.flatMap((o) => (o.t === 'data' ? [o.write] : [])));
    const ok = settled.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : []));
    const failed = settled.find((x) => x.status === 'rejected');
    if (failed) {
      await abandonExtents(this.engine, ok);
      throw (failed as PromiseRejectedResult).reason;
    }
    return ok;
  }

  /** Commit the batch with the cursor after it, in one transaction. */
  private async flush(ended: boolean): Promise<void> {
    const extents = await this.written();
    const batch = this.ops;
    this.ops = [];
    const { engine, ctx, p, reader } = this;
    try {
      engine.meta.transact((tx) => {
        let next = 0;
        for (const op of batch) {
          if (op.t === 'entry') {
            const ino = this.applyRecord(tx, op.rec);
            if (op.pending) op.pending.ino = ino;
            p.entries++;
          } else if (op.t === 'delete') {
            tx.setXattr(this.params.staging, planName(op.rec.number), planBody(op.rec));
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
        // How many extents the stream holds is known at its end: until then one more (an ETA from the bytes, when the file's size gives them).
        p.extentsTotal = ended ? p.extentsDone : p.extentsDone + 1;
        const under = this.pending && this.pending.remaining.length > 0 ? this.pending : undefined;
        const at = under && this.at.get(under.record.number)!;
        p.pending = under ? { entry: under.record.number, offset: at!.offset, key: at!.key.toString('hex'), ino: under.ino! } : null;
        if (ended) p.phase = 'publishing';
        ctx.checkpoint(tx);
      });
    } catch (err) {
      if (ended) p.phase = 'receiving';
      await abandonExtents(engine, extents);
      throw err;
    }
    engine.releaseExtents(extents.map((e) => e.id));
    this.batchBytes = 0;
    const keep = this.pending && this.at.get(this.pending.record.number);
    this.at.clear();
    if (keep) this.at.set(this.pending!.record.number, keep);
    if (crashArmed('receive-batch')) await engine.txg.commit('crash-point');
    crashPoint('receive-batch');
  }

  /** Inside `tx`: one entry record applied to the staging; returns the inode its data records go to. */
  private applyRecord(tx: Txn, rec: EntryRecord): number {
    const { meta } = this.engine;
    const { params } = this;
    const e = rec.body;
    if (params.from === null) return applyEntry(tx, meta, params.staging, e);
    tx.setXattr(params.staging, planName(rec.number), planBody(rec));
    if (e.link !== null) return 0;
    if (e.base === null) return applyEntry(tx, meta, params.staging, { ...e, path: stagedNew(rec.number) });
    if (!e.extents.some((x) => x.data)) return 0;
    // A changed file's new extents wait on an inode of their own until the merge adopts them.
    return applyEntry(tx, meta, params.staging, { path: stagedData(rec.number), kind: 'file', mode: 0o600, uid: 0, gid: 0, size: e.size, atimeMs: 0,
      mtimeMs: 0, ctimeMs: 0, rdev: 0, target: null, xattrs: [], link: null, extents: [] });
  }
}
