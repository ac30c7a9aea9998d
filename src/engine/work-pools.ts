/**
 * The Piscina worker pool the engine owns: encode (RS + BLAKE3). (Scrub needs none: its
 * reads go through the FragmentStores, which verify in native code off the main thread.)
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type Piscina from 'piscina';
import { fromOsCode } from '../errors';
import { takeBuffer } from './encode-buffers';
import { encodeLayout, type EncodeFailure, type EncodeLayout } from '../workers/encode-layout';

export interface EncodedExtent {
  layout: EncodeLayout;
  /** The whole buffer back from the worker (layout as in workers/encode-layout.ts). */
  buffer: Uint8Array;
  /** Payload of fragment i (a mirror's replicas share one view). */
  fragment(i: number): Uint8Array;
  hash(i: number): Buffer;
  logicalHash: Buffer;
}

/**
 * A buffer sized for encoding an extent of `length` bytes; fill [0, length) with the data.
 * It may be recycled (encode-buffers.ts): bytes outside what the caller writes are not
 * zeros. writeExtent takes it over and recycles it once the extent is written.
 */
export function allocEncodeBuffer(length: number, k: number, m: number, mirror: boolean): Uint8Array {
  // Its own ArrayBuffer (never a slice of Node's shared pool), so it can be transferred.
  return takeBuffer(encodeLayout(length, k, m, mirror).totalBytes);
}

export class WorkPools {
  private encodePool: Piscina | undefined;

  private get encoder(): Piscina {
    // Started (and piscina loaded) lazily: commands that never encode never pay for either.
    this.encodePool ??= new (require('piscina') as typeof Piscina)({
      filename: path.resolve(__dirname, '../workers/encode.worker.js'),
      minThreads: 1,
      maxThreads: Math.max(1, os.availableParallelism()),
      idleTimeout: 5000,
    });
    return this.encodePool;
  }

  /** Start the worker thread now (a coordinator, which encodes on every large write, does at start). */
  warm(): void {
    void this.encoder;
  }

  /** Encode one extent whose bytes fill buffer[0, length) (buffer from allocEncodeBuffer). */
  async encode(buffer: Uint8Array, length: number, k: number, m: number, mirror: boolean): Promise<EncodedExtent> {
    const reply = (await this.encoder.run({ buffer, length, k, m, mirror }, { transferList: [buffer.buffer as ArrayBuffer] })) as Uint8Array | EncodeFailure;
    if (!(reply instanceof Uint8Array)) throw fromOsCode(reply.code, reply.message);
    const L = encodeLayout(length, k, m, mirror);
    const buf = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
    return {
      layout: L,
      buffer: buf,
      fragment: (i) => (mirror ? buf.subarray(0, length) : buf.subarray(i * L.fragLen, (i + 1) * L.fragLen)),
      hash: (i) => buf.subarray(L.hashesAt + i * 32, L.hashesAt + (i + 1) * 32),
      logicalHash: Buffer.from(buf.subarray(L.logicalHashAt, L.logicalHashAt + 32)),
    };
  }

  async close(): Promise<void> {
    await this.encodePool?.destroy();
    this.encodePool = undefined;
  }
}
