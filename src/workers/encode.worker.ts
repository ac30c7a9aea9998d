/**
 * Encode worker (Piscina): RS parity + BLAKE3 of every fragment and of the logical
 * bytes, in place in one buffer that travels main → worker → main by transfer.
 *
 * Buffer layout (encode-layout.ts): [fragments][n × 32-byte fragment hashes][32-byte
 * logical hash]. Data fragments are the logical bytes zero-padded to k × fragLen, so
 * the caller reads the file straight into the buffer's start: no copy anywhere.
 * Errors come back as { ok: false, code } because an Error thrown in a worker loses
 * its code on the way to the main thread.
 */
import Piscina from 'piscina';
import { blake3Into, rsEncode } from '../native';
import { encodeLayout, type EncodeFailure } from './encode-layout';

export interface EncodeTask {
  buffer: Uint8Array;
  length: number;
  k: number;
  m: number;
  mirror: boolean;
}

export default function encode(task: EncodeTask): unknown {
  try {
    const { buffer, length, k, m, mirror } = task;
    const L = encodeLayout(length, k, m, mirror);
    blake3Into(buffer.subarray(0, length), buffer, L.logicalHashAt);
    if (mirror) {
      for (let i = 0; i < L.fragments; i++) buffer.copyWithin(L.hashesAt + i * 32, L.logicalHashAt, L.logicalHashAt + 32);
    } else {
      buffer.fill(0, length, k * L.fragLen); // zero padding of the last data fragment
      const frag = (i: number) => buffer.subarray(i * L.fragLen, (i + 1) * L.fragLen);
      rsEncode(k, m, Array.from({ length: k }, (_, i) => frag(i)), Array.from({ length: m }, (_, i) => frag(k + i)));
      for (let i = 0; i < L.fragments; i++) blake3Into(frag(i), buffer, L.hashesAt + i * 32);
    }
    return Piscina.move(buffer);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ok: false, code: e.code ?? 'EINTERNAL', message: e.message ?? String(err) } satisfies EncodeFailure;
  }
}
