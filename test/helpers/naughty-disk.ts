/**
 * A fault-injecting disk (MinIO's naughty disk): a FragmentStore decorator that answers
 * programmed calls with an error (EIO, ENOSPC, EROFS, ENOENT, ...), a delay, or a
 * written payload with a flipped byte (silent corruption: the fragment verifies against
 * its own header but not against the hash the metadata records). Calls without a programmed
 * fault go to the real disk. Every call is counted, so a test can prove that a
 * pipeline's I/O (reads, writes, deletes, listings, probes, label reads) really went
 * through the store.
 */
import { DfsError, type ErrorCode } from '../../src/errors';
import { blake3 } from '../../src/native';
import { writeAt } from '../../src/pool/write-at';
import type { FragmentHeaderInput } from '../../src/native';
import type { CopyTarget, DiskSpace, FragmentStore, IoPriority, StoredFragment, TmpEntry } from '../../src/pool/fragment-store';
import type { DiskLabel } from '../../src/pool/label';

export type Op = 'read' | 'write' | 'sync' | 'remove' | 'removeTmp' | 'has' | 'list' | 'listTmp' | 'space' | 'probe' | 'label' | 'appendLog' | 'readLog' | 'resetLog';
/** flip: XOR byte `flip` of the payload (of fragment `index` only, when given). */
export type Fault = { error: ErrorCode } | { delayMs: number } | { flip: number; index?: number };

export class NaughtyDisk implements FragmentStore {
  /** Calls made, per operation (faulted ones included). */
  readonly calls: Record<Op, number> = { read: 0, write: 0, sync: 0, remove: 0, removeTmp: 0, has: 0, list: 0, listTmp: 0, space: 0, probe: 0, label: 0, appendLog: 0, readLog: 0, resetLog: 0 };
  /** Reads made with priority 'background' (a scrub's). */
  backgroundReads = 0;
  private readonly once = new Map<Op, Fault[]>();
  private readonly always = new Map<Op, Fault>();

  constructor(readonly inner: FragmentStore) {}

  get id(): number { return this.inner.id; }

  /** The next calls of `op` get these faults, one each, in order. */
  next(op: Op, ...faults: Fault[]): this {
    this.once.set(op, [...(this.once.get(op) ?? []), ...faults]);
    return this;
  }

  /** Every call of `op` gets `fault` (until cleared with `heal`). */
  every(op: Op, fault: Fault): this {
    this.always.set(op, fault);
    return this;
  }

  heal(): void {
    this.once.clear();
    this.always.clear();
  }

  private async fault(op: Op): Promise<Fault | undefined> {
    this.calls[op]++;
    const f = this.once.get(op)?.shift() ?? this.always.get(op);
    if (f && 'error' in f) throw new DfsError(f.error, `injected ${f.error} on disk ${this.id} (${op})`);
    if (f && 'delayMs' in f) await new Promise((r) => setTimeout(r, f.delayMs));
    return f;
  }

  async write(header: FragmentHeaderInput, payload: Uint8Array, sync?: boolean): Promise<number> {
    const f = await this.fault('write');
    if (f && 'flip' in f && (f.index === undefined || f.index === header.index)) {
      const bad = Buffer.from(payload);
      bad[f.flip % bad.length]! ^= 0x01;
      return this.inner.write({ ...header, payloadHash: blake3(bad) }, bad, sync);
    }
    return this.inner.write(header, payload, sync);
  }

  async sync(): Promise<void> {
    await this.fault('sync');
    return this.inner.sync();
  }

  async read(extentId: Buffer, index: number, expectedHash: Buffer, priority?: IoPriority): Promise<Buffer> {
    if (priority === 'background') this.backgroundReads++;
    await this.fault('read');
    return this.inner.read(extentId, index, expectedHash, priority);
  }

  /** A copy is a read here (its faults apply), its bytes then written to the target. */
  async copyTo(extentId: Buffer, index: number, expectedHash: Buffer, target: CopyTarget, priority?: IoPriority): Promise<number> {
    const payload = await this.read(extentId, index, expectedHash, priority);
    if (payload.length < target.length) throw new DfsError('EFORMAT', `fragment ${index} has ${payload.length} bytes, fewer than ${target.length}`);
    await writeAt(target.fd, payload.subarray(0, target.length), target.offset);
    return payload.length;
  }

  async remove(extentId: Buffer, index: number): Promise<void> {
    await this.fault('remove');
    return this.inner.remove(extentId, index);
  }

  async has(extentId: Buffer, index: number): Promise<boolean> {
    await this.fault('has');
    return this.inner.has(extentId, index);
  }

  async *list(): AsyncGenerator<StoredFragment> {
    await this.fault('list');
    yield* this.inner.list();
  }

  async removeTmp(name: string): Promise<void> {
    await this.fault('removeTmp');
    return this.inner.removeTmp(name);
  }

  async listTmp(): Promise<TmpEntry[]> {
    await this.fault('listTmp');
    return this.inner.listTmp();
  }

  async space(): Promise<DiskSpace> {
    await this.fault('space');
    return this.inner.space();
  }

  async probe(bytes: number): Promise<number> {
    await this.fault('probe');
    return this.inner.probe(bytes);
  }

  async label(): Promise<DiskLabel | undefined> {
    await this.fault('label');
    return this.inner.label();
  }

  async appendLog(bytes: Uint8Array): Promise<void> {
    await this.fault('appendLog');
    return this.inner.appendLog(bytes);
  }

  async readLog(): Promise<Buffer> {
    await this.fault('readLog');
    return this.inner.readLog();
  }

  async resetLog(opts?: { keepSpace?: boolean }): Promise<void> {
    await this.fault('resetLog');
    return this.inner.resetLog(opts);
  }

  close(): void {
    this.inner.close();
  }
}
