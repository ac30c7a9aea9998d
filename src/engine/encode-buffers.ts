/**
 * Recycled encode buffers. An extent's buffer (~1.5 x the extent for rs:4+2) used to
 * be a fresh ArrayBuffer per extent: V8 counts it as external memory, so a long write
 * triggered a full mark-compact every few extents ("external memory pressure", 15-25 ms
 * each on the main thread, where FUSE requests wait) and every buffer cost page faults
 * to zero. Buffers whose extent is written come back here and are handed out again.
 *
 * A recycled buffer holds old bytes: callers fill [0, length) and must not rely on
 * zeros elsewhere (the encoder zero-pads what it reads past `length` itself).
 */

/** Free buffers kept per size: enough for a file's write-behind window to cycle. */
const MAX_FREE = 8;
/** Free buffers are dropped after this long without a request, so an idle mount holds none. */
const IDLE_MS = 10_000;

const free = new Map<number, ArrayBuffer[]>();
let idle: NodeJS.Timeout | undefined;

function touch(): void {
  if (idle) idle.refresh();
  else idle = setTimeout(() => { free.clear(); idle = undefined; }, IDLE_MS).unref();
}

/** A buffer of `bytes`, recycled when one is free (contents unspecified), else new. */
export function takeBuffer(bytes: number): Uint8Array {
  touch();
  const ab = free.get(bytes)?.pop();
  return new Uint8Array(ab ?? new ArrayBuffer(bytes));
}

/**
 * Return a buffer nothing reads or writes any more. Only whole ArrayBuffers of their own
 * are kept (never a view into something larger, never a detached one).
 */
export function recycleBuffer(buf: Uint8Array): void {
  const ab = buf.buffer;
  if (!(ab instanceof ArrayBuffer) || ab.byteLength === 0 || buf.byteOffset !== 0 || buf.byteLength !== ab.byteLength) return;
  const list = free.get(ab.byteLength) ?? [];
  if (list.length >= MAX_FREE || list.includes(ab)) return;
  list.push(ab);
  free.set(ab.byteLength, list);
  touch();
}

/** How many free buffers are kept (tests). */
export function freeBufferCount(): number {
  let n = 0;
  for (const l of free.values()) n += l.length;
  return n;
}
