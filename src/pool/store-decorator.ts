/**
 * A FragmentStore that passes every call to the store it wraps: decorators (metrics,
 * the foreground meter) extend it and override only the calls they look at.
 */
import type { FragmentHeaderInput } from '../native';
import type { CopyTarget, DiskSpace, FragmentStore, IoPriority, StoredFragment, TmpEntry } from './fragment-store';
import type { DiskLabel } from './label';

export class StoreDecorator implements FragmentStore {
  constructor(readonly inner: FragmentStore) {}

  get id(): number {
    return this.inner.id;
  }

  write(header: FragmentHeaderInput, payload: Uint8Array, sync?: boolean, priority?: IoPriority): Promise<number> {
    return this.inner.write(header, payload, sync, priority);
  }

  sync(): Promise<void> {
    return this.inner.sync();
  }

  read(extentId: Buffer, index: number, expectedHash: Buffer, priority?: IoPriority): Promise<Buffer> {
    return this.inner.read(extentId, index, expectedHash, priority);
  }

  copyTo(extentId: Buffer, index: number, expectedHash: Buffer, target: CopyTarget, priority?: IoPriority): Promise<number> {
    return this.inner.copyTo(extentId, index, expectedHash, target, priority);
  }

  remove(extentId: Buffer, index: number): Promise<void> {
    return this.inner.remove(extentId, index);
  }

  removeTmp(name: string): Promise<void> {
    return this.inner.removeTmp(name);
  }

  has(extentId: Buffer, index: number): Promise<boolean> {
    return this.inner.has(extentId, index);
  }

  list(): AsyncGenerator<StoredFragment> {
    return this.inner.list();
  }

  listTmp(): Promise<TmpEntry[]> {
    return this.inner.listTmp();
  }

  space(): Promise<DiskSpace> {
    return this.inner.space();
  }

  probe(bytes: number): Promise<number> {
    return this.inner.probe(bytes);
  }

  label(): Promise<DiskLabel | undefined> {
    return this.inner.label();
  }

  appendLog(bytes: Uint8Array): Promise<void> {
    return this.inner.appendLog(bytes);
  }

  readLog(): Promise<Buffer> {
    return this.inner.readLog();
  }

  resetLog(opts?: { keepSpace?: boolean }): Promise<void> {
    return this.inner.resetLog(opts);
  }

  close(): void {
    this.inner.close();
  }
}
