/**
 * When the pool's stores last served foreground fragment I/O: a read or write that is
 * not a scrub's (scrub reads are marked background). A rate-limited scrub reads it to
 * yield to the mount, gets, puts and repairs. One meter per pool, installed as a
 * decorator around every store (Pool.decorateStores).
 */
import type { FragmentHeaderInput } from '../native';
import type { DiskSpace, FragmentStore, IoPriority, StoredFragment, TmpEntry } from './fragment-store';
import type { DiskLabel } from './label';

export class ForegroundMeter {
  /** Date.now() of the last foreground read or write to start or end (0: none yet). */
  lastMs = 0;

  wrap(store: FragmentStore): FragmentStore {
    return new MeteredForeground(store, this);
  }
}

class MeteredForeground implements FragmentStore {
  constructor(private readonly inner: FragmentStore, private readonly meter: ForegroundMeter) {}

  get id(): number {
    return this.inner.id;
  }

  write(header: FragmentHeaderInput, payload: Uint8Array): Promise<number> {
    return this.mark(() => this.inner.write(header, payload));
  }

  read(extentId: Buffer, index: number, expectedHash: Buffer, priority?: IoPriority): Promise<Buffer> {
    if (priority === 'background') return this.inner.read(extentId, index, expectedHash, priority);
    return this.mark(() => this.inner.read(extentId, index, expectedHash, priority));
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

  private mark<T>(fn: () => Promise<T>): Promise<T> {
    this.meter.lastMs = Date.now();
    return fn().finally(() => { this.meter.lastMs = Date.now(); });
  }
}
