/**
 * A FragmentStore decorator that counts what goes through it: reads, writes and
 * removals, their payload bytes, failures by error code, and a latency histogram, all
 * labelled with the disk id. The engine wraps every disk in one (Pool.decorateStores),
 * so the figures come from the real I/O path, and a store a test swaps in with
 * Pool.setStore (a fault injector) is measured the same way.
 */
import type { FragmentHeaderInput } from '../native';
import type { Metrics } from '../metrics/metrics';
import type { CopyTarget, FragmentStore, IoPriority } from './fragment-store';
import { StoreDecorator } from './store-decorator';

type Op = 'read' | 'write' | 'remove';

/** Error codes become label values: anything that is not an E-code is folded into one value. */
function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]{1,20}$/.test(code) ? code : 'EOTHER';
}

export class MeteredStore extends StoreDecorator {
  private readonly count: Record<Op, { inc(n?: number): void }>;
  private readonly seconds: Record<Op, { observe(v: number): void }>;
  private readonly readBytes: { inc(n?: number): void };
  private readonly writeBytes: { inc(n?: number): void };
  private readonly disk: string;

  constructor(inner: FragmentStore, private readonly metrics: Metrics) {
    super(inner);
    const disk = String(inner.id);
    this.disk = disk;
    // Label children bound once: the hot path does no label hashing.
    this.count = {
      read: metrics.fragmentReads.labels({ disk }),
      write: metrics.fragmentWrites.labels({ disk }),
      remove: metrics.fragmentRemoves.labels({ disk }),
    };
    this.seconds = {
      read: metrics.fragmentSeconds.labels({ disk, op: 'read' }),
      write: metrics.fragmentSeconds.labels({ disk, op: 'write' }),
      remove: metrics.fragmentSeconds.labels({ disk, op: 'remove' }),
    };
    this.readBytes = metrics.fragmentReadBytes.labels({ disk });
    this.writeBytes = metrics.fragmentWriteBytes.labels({ disk });
  }

  override async write(header: FragmentHeaderInput, payload: Uint8Array, sync?: boolean, priority?: IoPriority): Promise<number> {
    const r = await this.timed('write', () => this.inner.write(header, payload, sync, priority));
    this.writeBytes.inc(payload.length);
    return r;
  }

  override async read(extentId: Buffer, index: number, expectedHash: Buffer, priority?: IoPriority): Promise<Buffer> {
    const payload = await this.timed('read', () => this.inner.read(extentId, index, expectedHash, priority));
    this.readBytes.inc(payload.length);
    return payload;
  }

  override async copyTo(extentId: Buffer, index: number, expectedHash: Buffer, target: CopyTarget, priority?: IoPriority): Promise<number> {
    const n = await this.timed('read', () => this.inner.copyTo(extentId, index, expectedHash, target, priority));
    this.readBytes.inc(n);
    return n;
  }

  override remove(extentId: Buffer, index: number): Promise<void> {
    return this.timed('remove', () => this.inner.remove(extentId, index));
  }

  private async timed<T>(op: Op, fn: () => Promise<T>): Promise<T> {
    this.count[op].inc();
    const started = performance.now();
    try {
      return await fn();
    } catch (err) {
      this.metrics.fragmentErrors.inc({ disk: this.disk, op, code: codeOf(err) });
      throw err;
    } finally {
      this.seconds[op].observe((performance.now() - started) / 1000);
    }
  }
}
