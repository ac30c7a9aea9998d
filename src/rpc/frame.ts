/**
 * The admin socket's wire format, shared by the client (admin/client.ts) and the
 * server (daemon/admin-server.ts):
 *
 *   frame    = length (uint32, big-endian) ‖ body (`length` bytes, msgpack)
 *   request  = { id: number, op: string, args: object, caller?: { user, uid, gid, pid }, reqId?: string }
 *   reply    = { id, ok: true, data } | { id, ok: false, error: { code, message, path?, ...details } }
 *
 * Replies carry the request's id, so one connection can have many requests in flight
 * and their replies may come back in any order. A reply to a frame that could not be
 * decoded carries id null.
 *
 * Only plain data crosses: objects with string keys, arrays, strings, numbers,
 * booleans, null, Buffers. msgpack records (msgpackr's default structure sharing) are
 * off, so every frame decodes on its own.
 */
import { Packr } from 'msgpackr';
import { DfsError, isErrorCode } from '../errors';
import type { Identity } from '../log/audit';

export const FRAME_HEADER_BYTES = 4;
/** Requests are small (paths and flags); anything larger is garbage, not a request. */
export const MAX_REQUEST_BYTES = 1 << 20;
/** Replies can list a large directory or many gc orphans. */
export const MAX_REPLY_BYTES = 256 << 20;

const packr = new Packr({ useRecords: false, moreTypes: false });

export interface Request {
  id: number;
  op: string;
  args: Record<string, unknown>;
  /** Who the client says it is (for the audit log); absent when it did not say, or said it badly. */
  caller?: Identity;
  /** The request id the client chose (`--request-id`); the server makes one up when absent. */
  reqId?: string;
}

/** What a request id may be: it goes into log lines, job params and CSV cells, so a plain token. */
export const REQ_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
export const REQ_ID_RULE = '1 to 64 letters, digits, ".", "_", ":" or "-", starting with a letter or digit (e.g. nightly-scrub-42)';

export type Reply =
  | { id: number | null; ok: true; data: unknown }
  | { id: number | null; ok: false; error: Record<string, unknown> };

/** One frame: its 4-byte length, then `value` msgpack-encoded. */
export function encodeFrame(value: unknown): Buffer {
  const body = packr.pack(value);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** A decoded frame, or the reason its body could not be decoded (the framing itself is intact). */
export type Frame = { ok: true; value: unknown } | { ok: false; error: DfsError };

/**
 * Cuts a byte stream into frames. A body that is not valid msgpack becomes a failed
 * Frame and reading goes on with the next frame; a length above `maxBytes` throws
 * EPROTO, because then the stream cannot be trusted to be framed at all and the
 * connection must be dropped.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < FRAME_HEADER_BYTES) break;
      const head = this.peek(FRAME_HEADER_BYTES);
      const length = head.readUInt32BE(0);
      if (length > this.maxBytes) {
        throw new DfsError('EPROTO', `admin frame of ${length} bytes exceeds the limit of ${this.maxBytes}; the peer does not speak the DynamicFS admin protocol`);
      }
      if (this.buffered < FRAME_HEADER_BYTES + length) break;
      const body = this.take(FRAME_HEADER_BYTES + length).subarray(FRAME_HEADER_BYTES);
      frames.push(decodeBody(body));
    }
    return frames;
  }

  /** Bytes received that do not yet form a whole frame. */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    const first = this.chunks[0]!;
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}

function decodeBody(body: Buffer): Frame {
  try {
    return { ok: true, value: packr.unpack(body) };
  } catch (err) {
    return { ok: false, error: new DfsError('EPROTO', `admin frame is not valid msgpack: ${(err as Error).message}`) };
  }
}

/** Check a decoded value is a request; EPROTO otherwise (requestId still finds its id for the reply). */
export function asRequest(value: unknown): Request {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DfsError('EPROTO', 'admin request must be a map {id, op, args}');
  }
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'number' || !Number.isSafeInteger(v.id)) throw new DfsError('EPROTO', 'admin request needs an integer id');
  if (typeof v.op !== 'string') throw new DfsError('EPROTO', 'admin request needs an op name (string)');
  const args = v.args ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new DfsError('EPROTO', `admin request ${v.op}: args must be a map`);
  }
  if (v.reqId !== undefined && (typeof v.reqId !== 'string' || !REQ_ID_PATTERN.test(v.reqId))) {
    throw new DfsError('EPROTO', `admin request ${v.op}: request id ${JSON.stringify(v.reqId)} is not ${REQ_ID_RULE}`);
  }
  return { id: v.id, op: v.op, args: args as Record<string, unknown>, ...(isIdentity(v.caller) ? { caller: v.caller } : {}),
    ...(typeof v.reqId === 'string' ? { reqId: v.reqId } : {}) };
}

function isIdentity(v: unknown): v is Identity {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return typeof c.user === 'string' && c.user.length <= 256 && [c.uid, c.gid, c.pid].every((n) => typeof n === 'number' && Number.isSafeInteger(n));
}

/** The id of a value that failed asRequest, if it had a usable one. */
export function requestId(value: unknown): number | null {
  const id = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).id : undefined;
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : null;
}

/** Check a decoded value is a reply (client side). */
export function asReply(value: unknown): Reply {
  if (typeof value !== 'object' || value === null) throw new DfsError('EPROTO', 'admin reply is not a map');
  const v = value as Record<string, unknown>;
  if (v.ok === true) return { id: requestId(v), ok: true, data: v.data };
  if (v.ok === false && typeof v.error === 'object' && v.error !== null) return { id: requestId(v), ok: false, error: v.error as Record<string, unknown> };
  throw new DfsError('EPROTO', 'admin reply has neither data nor error');
}

/** Rebuild the DfsError a reply carries (the inverse of DfsError.toJSON). */
export function errorFromReply(error: Record<string, unknown>): DfsError {
  const { code, message, path, ...details } = error;
  return new DfsError(
    isErrorCode(code) ? code : 'EINTERNAL',
    typeof message === 'string' ? message : 'the coordinator reported an error without a message',
    typeof path === 'string' ? path : undefined,
    Object.keys(details).length > 0 ? details : undefined,
  );
}

/**
 * The coordinator's own operations, beside the admin operations (admin/ops):
 * `ping` answers who serves the pool; `shutdown` flushes, unmounts and stops it.
 */
export const CONTROL_OPS = ['ping', 'shutdown'] as const;

export interface CoordinatorInfo {
  pid: number;
  pool: string;
  /** Where the pool is mounted; null for a coordinator without a mount (`dynamicfs serve`). */
  mountpoint: string | null;
  /**
   * True once the mount was detached outside dynamicfs (`umount -l`) while files there
   * stay open: the coordinator serves them and stops when the last closes.
   */
  mountDetached: boolean;
  readOnly: boolean;
  startedMs: number;
  /** Where GET /metrics and /health are served (`--metrics-port`); null when they are not. */
  metricsUrl: string | null;
}

export interface ShutdownArgs {
  /** When given, the coordinator refuses unless this is its mountpoint. */
  mountpoint?: string;
}
