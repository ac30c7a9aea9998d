/**
 * Where a receive reads its stream from: a file (read at positions, so a resumed receive
 * starts where it stopped) or a pipe (stdin: a resumed receive reads the stream again
 * from its start and drops what it applied already). Both count their position.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { DfsError, toDfsError } from '../errors';

export interface ByteInput {
  /** Up to `n` bytes from the current position: fewer only at the end of the input. */
  read(n: number): Promise<Buffer>;
  /** Move on to byte `offset` (at or after the current position). */
  skipTo(offset: number): Promise<void>;
  readonly position: number;
  /** The input's length when known (a file), for progress. */
  readonly size: number | undefined;
  close(): Promise<void>;
}

/** `path` read at positions; ENOENT (or the OS error) naming it. */
export async function fileInput(path: string): Promise<ByteInput> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const e = toDfsError(err);
    throw new DfsError(e.code, `cannot read the stream file ${path}: ${e.message}`, path);
  }
  const size = (await fh.stat()).size;
  let position = 0;
  return {
    get position() { return position; },
    size,
    async read(n) {
      const buf = Buffer.allocUnsafeSlow(n);
      let got = 0;
      while (got < n) {
        const { bytesRead } = await fh.read(buf, got, n - got, position + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      position += got;
      return got === n ? buf : buf.subarray(0, got);
    },
    async skipTo(offset) {
      if (offset > size) throw new DfsError('EFORMAT', `${path} has ${size} bytes; the receive stopped at byte ${offset} of its stream: this is not that stream`, path);
      position = Math.max(position, offset);
    },
    async close() {
      await fh.close();
    },
  };
}

/** A stream read in order (the caller's stdin). */
export function pipeInput(stream: Readable): ByteInput {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let held: Buffer[] = [];
  let heldBytes = 0;
  let ended = false;
  let position = 0;
  const fill = async (n: number): Promise<void> => {
    while (heldBytes < n && !ended) {
      const next = await chunks.next();
      if (next.done) {
        ended = true;
        break;
      }
      const c = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      held.push(c);
      heldBytes += c.length;
    }
  };
  const take = (n: number): Buffer => {
    const m = Math.min(n, heldBytes);
    const all = held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes);
    const out = all.subarray(0, m);
    const left = all.subarray(m);
    held = left.length > 0 ? [left] : [];
    heldBytes = left.length;
    position += m;
    return out;
  };
  return {
    get position() { return position; },
    size: undefined,
    async read(n) {
      await fill(n);
      return take(n);
    },
    async skipTo(offset) {
      while (position < offset) {
        const step = Math.min(offset - position, 1 << 22);
        await fill(step);
        if (heldBytes === 0) throw new DfsError('EFORMAT', `the stream ends at byte ${position}, before byte ${offset} where the receive stopped: this is not that stream`);
        take(step);
      }
    },
    async close() {
      await chunks.return?.();
    },
  };
}
