/**
 * When the pool's stores last served foreground fragment I/O: a read or write not marked
 * background (a scrub's reads, a tier migration's reads and writes are). A rate-limited
 * scrub or migration reads it to yield to the mount, gets, puts and repairs. One meter per pool, installed as a
 * decorator around every store (Pool.decorateStores).
 */
import type { FragmentHeaderInput } from '../native';
import type { CopyTarget, FragmentStore, IoPriority } from './fragment-store';
import { StoreDecorator } from './store-decorator';

export class ForegroundMeter {
  /** Date.now() of the last foreground read or write to start or end (0: none yet). */
  lastMs = 0;

  wrap(store: FragmentStore): FragmentStore {
    return new MeteredForeground(store, this);
  }
}

class MeteredForeground extends StoreDecorator {
  constructor(inner: FragmentStore, private readonly meter: ForegroundMeter) {
    super(inner);
  }

  override write(header: FragmentHeaderInput, payload: Uint8Array, sync?: boolean, priority?: IoPriority): Promise<number> {
    if (priority === 'background') return this.inner.write(header, payload, sync, priority);
    return this.mark(() => this.inner.write(header, payload, sync, priority));
  }

  override read(extentId: Buffer, index: number, expectedHash: Buffer, priority?: IoPriority): Promise<Buffer> {
    if (priority === 'background') return this.inner.read(extentId, index, expectedHash, priority);
    return this.mark(() => this.inner.read(extentId, index, expectedHash, priority));
  }

  override copyTo(extentId: Buffer, index: number, expectedHash: Buffer, target: CopyTarget, priority?: IoPriority): Promise<number> {
    if (priority === 'background') return this.inner.copyTo(extentId, index, expectedHash, target, priority);
    return this.mark(() => this.inner.copyTo(extentId, index, expectedHash, target, priority));
  }

  private mark<T>(fn: () => Promise<T>): Promise<T> {
    this.meter.lastMs = Date.now();
    return fn().finally(() => { this.meter.lastMs = Date.now(); });
  }
}
