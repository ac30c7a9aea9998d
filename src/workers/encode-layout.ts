/**
 * Where things sit in the buffer an extent is encoded in, and the failure the encode
 * worker sends back. Shared by the worker and the main thread's WorkPools, so the main
 * thread never loads the worker module (and Piscina's worker side) for one helper.
 */

export type EncodeFailure = { ok: false; code: string; message: string };

export interface EncodeLayout {
  fragLen: number;
  fragments: number;
  /** Bytes of fragment payloads (a mirror stores one copy). */
  payloadBytes: number;
  hashesAt: number;
  logicalHashAt: number;
  totalBytes: number;
}

export function encodeLayout(length: number, k: number, m: number, mirror: boolean): EncodeLayout {
  const fragLen = mirror ? length : Math.ceil(length / k);
  const fragments = k + m;
  const payloadBytes = mirror ? length : fragments * fragLen;
  const hashesAt = payloadBytes;
  const logicalHashAt = hashesAt + fragments * 32;
  return { fragLen, fragments, payloadBytes, hashesAt, logicalHashAt, totalBytes: logicalHashAt + 32 };
}
