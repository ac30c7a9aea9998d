/**
 * A slow disk for bench:tier: a FragmentStore decorator (pool/store-decorator.ts) that
 * holds each fragment read and write until the disk would have served it, one at a time,
 * at `bytesPerSec` after `latencyMs` per operation (a seek). The bench wraps the cold
 * tier's disks in it through Pool.decorateStores; nothing in the product uses it.
 */
import type { FragmentHeaderInput } from '../../src/native';
import type { CopyTarget, FragmentStore, IoPriority } from '../../src/pool/fragment-store';
import { StoreDecorator } from '../../src/pool/store-decorator';

export class ThrottledStore extends StoreDecorator {
  /** When the disk is free again (performance.now() ms). */
  private freeAtMs = 0;

  constructor(inner: FragmentStore, private readonly bytesPerSec: number, private readonly latencyMs: number) {
    super(inner);
  }

  override async read(extentId: Buffer, index: number, expectedHash: Buffer, priority?: IoPriority): Promise<Buffer> {
    const payload = await this.inner.read(extentId, index, expectedHash, priority);
    await this.occupy(payload.length);
    return payload;
  }

  override async copyTo(extentId: Buffer, index: number, expectedHash: Buffer, target: CopyTarget, priority?: IoPriority): Promise<number> {
    const n = await this.inner.copyTo(extentId, index, expectedHash, target, priority);
    await this.occupy(n);
    return n;
  }

  override async write(header: FragmentHeaderInput, payload: Uint8Array, sync?: boolean, priority?: IoPriority): Promise<number> {
    await this.occupy(payload.length);
    return this.inner.write(header, payload, sync, priority);
  }

  /** Wait for the disk's turn and the time it takes to move `bytes`. */
  private async occupy(bytes: number): Promise<void> {
    const now = performance.now();
    this.freeAtMs = Math.max(now, this.freeAtMs) + this.latencyMs + (bytes / this.bytesPerSec) * 1000;
    await new Promise((resolve) => setTimeout(resolve, this.freeAtMs - now));
  }
}
