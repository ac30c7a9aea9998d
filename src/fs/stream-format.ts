/**
 * The send stream's bytes (docs/FORMAT.md, "Send streams"): a 12-byte preamble, then
 * framed records, each `u32 LE body length ‖ u8 type ‖ msgpack body ‖ 32-byte hash`, the
 * hash being BLAKE3 keyed with the previous record's hash (the first record's key: the
 * BLAKE3 of the preamble) over `type ‖ body`. So every record carries its own check, and
 * the chain makes a record dropped, repeated or moved fail where it stands; the end
 * record's counts close the chain, so a stream cut short is told from a whole one.
 *
 * This module only encodes and decodes: RecordWriter frames bodies, RecordReader reads
 * them back from a ByteInput (stream-input.ts) verified and checked for shape, naming
 * the record number, its type and its byte offset in every refusal (EDIGEST: a hash that
 * does not match; EFORMAT: anything else that is not this format).
 */
import { Packr } from 'msgpackr';
import { DfsError } from '../errors';
import { blake3, blake3Hasher, blake3Keyed } from '../native';
import type { InodeKind } from '../meta/records';
import type { ByteInput } from './stream-input';
import { checkEntry, type EntryToApply, type ExtentSpec } from './tree-apply';

export const MAGIC = Buffer.from('DYNFSSTR', 'ascii');
export const MAJOR = 1;
export const MINOR = 0;
export const PREAMBLE_BYTES = 12;
/** Length, type, hash: what a record adds to its body. */
export const FRAME_BYTES = 4 + 1 + 32;
/** The longest body this reader takes: an extent (at most 64 MiB) and its fields; a longer length is damage. */
export const MAX_BODY = 64 * 1024 * 1024 + 4096;

export const RECORD_TYPES = { header: 1, entry: 2, delete: 3, data: 4, end: 5 } as const;
export type RecordType = keyof typeof RECORD_TYPES;
const TYPE_NAMES = new Map<number, RecordType>(Object.entries(RECORD_TYPES).map(([k, v]) => [v, k as RecordType]));

export interface StreamHeader {
  /** The snapshot the stream holds: its name, guid and creation time on the sender. */
  name: string;
  guid: Buffer;
  createdMs: number;
  /** An incremental's base: its guid and name; null for a full stream. */
  from: Buffer | null;
  fromName: string | null;
  /** The sending pool's uuid and extent size. */
  pool: string;
  extentSize: number;
  sentMs: number;
}

/** An extent as an entry record names it: `data` when a data record carries its bytes (else the receiver has them in the base). */
export interface StreamExtent extends ExtentSpec {
  data: boolean;
}

/** An entry record: a tree entry, and for an incremental where its inode was in the base (null: not there). */
export interface StreamEntry extends Omit<EntryToApply, 'extents'> {
  extents: StreamExtent[];
  base: string | null;
}

export interface StreamData {
  /** The record number of the entry whose file it belongs to, and that entry's path. */
  entry: number;
  path: string;
  offset: number;
  hash: Buffer;
  bytes: Buffer;
}

export interface StreamEnd {
  /** Records before the end record (the header included). */
  records: number;
  entries: number;
  deletes: number;
  data: number;
  dataBytes: number;
}

export type StreamRecord =
  | { type: 'header'; body: StreamHeader }
  | { type: 'entry'; body: StreamEntry }
  | { type: 'delete'; body: { path: string } }
  | { type: 'data'; body: StreamData }
  | { type: 'end'; body: StreamEnd };

/** A record as read: what it is, where it was, its body's bytes, and the hash the next one is keyed with. */
export type ReadRecord = StreamRecord & { number: number; offset: number; size: number; hash: Buffer; raw: Buffer };

const packr = new Packr({ useRecords: false, moreTypes: false, variableMapSize: true });

export function preamble(): Buffer {
  const b = Buffer.alloc(PREAMBLE_BYTES);
  MAGIC.copy(b, 0);
  b.writeUInt16LE(MAJOR, 8);
  b.writeUInt16LE(MINOR, 10);
  return b;
}

/** The key the first record is hashed with. */
export function firstKey(pre: Buffer = preamble()): Buffer {
  return blake3(pre);
}

/** Frames records one after another, each keyed with the one before. */
export class RecordWriter {
  private key: Buffer = firstKey();
  /** Records written so far. */
  count = 0;
  /** Bytes written so far, the preamble included. */
  offset = PREAMBLE_BYTES;

  /** The preamble: the stream's first bytes. */
  start(): Buffer {
    return preamble();
  }

  encode(r: StreamRecord): Buffer {
    const body = packr.pack(toWire(r));
    const out = Buffer.allocUnsafeSlow(FRAME_BYTES + body.length);
    out.writeUInt32LE(body.length, 0);
    out[4] = RECORD_TYPES[r.type];
    body.copy(out, 5);
    const hash = blake3Keyed(this.key, out.subarray(4, 5 + body.length));
    hash.copy(out, 5 + body.length);
    this.key = hash;
    this.count++;
    this.offset += out.length;
    return out;
  }
}

/** Where a reader stands: resumable from it (a receive's cursor). */
export interface ReaderState {
  /** Byte offset of the next record. */
  offset: number;
  /** Number of the next record (the header is 0). */
  record: number;
  /** The hash the next record is keyed with. */
  key: Buffer;
}

/** Reads and verifies records one at a time from `input`, positioned at `state.offset`. */
export class RecordReader {
  private ended = false;

  constructor(private readonly input: ByteInput, readonly state: ReaderState) {}

  /** Check the preamble (at offset 0) and start after it. */
  static async open(input: ByteInput, what: string): Promise<RecordReader> {
    const pre = await input.read(PREAMBLE_BYTES);
    if (pre.length < PREAMBLE_BYTES || !pre.subarray(0, 8).equals(MAGIC)) {
      throw new DfsError('EFORMAT', `${what} is not a DynamicFS send stream (it does not start with ${MAGIC.toString()}); give a file \`dynamicfs send\` wrote`, undefined,
        { offset: 0 });
    }
    const major = pre.readUInt16LE(8);
    if (major !== MAJOR) {
      throw new DfsError('EFORMAT', `${what} is a send stream of format ${major}.${pre.readUInt16LE(10)}; this DynamicFS reads format ${MAJOR}.x: receive it with a newer one`,
        undefined, { offset: 8 });
    }
    return new RecordReader(input, { offset: PREAMBLE_BYTES, record: 0, key: firstKey(pre) });
  }

  /** The next record, verified and decoded; null after the end record once the input is exhausted. */
  async next(): Promise<ReadRecord | null> {
    const { offset, record } = this.state;
    const head = await this.input.read(5);
    if (this.ended) {
      if (head.length === 0) return null;
      throw new DfsError('EFORMAT', `the stream goes on past its end record, at byte ${offset}: it is not one stream (two joined?)`, undefined, { offset, record });
    }
    if (head.length < 5) throw truncated(offset, record, head.length === 0 ? 'before' : 'inside');
    const n = head.readUInt32LE(0);
    const typeByte = head[4]!;
    const type = TYPE_NAMES.get(typeByte);
    const where = `record ${record} (${type ?? `type byte ${typeByte}`}) at byte ${offset}`;
    if (n > MAX_BODY) throw damaged('EDIGEST', `${where} claims a ${n}-byte body, more than any record holds: the stream is damaged`, offset, record, type);
    const rest = await this.input.read(n + 32);
    if (rest.length < n + 32) throw truncated(offset, record, 'inside');
    const hash = blake3Hasher({ key: this.state.key }).update(head.subarray(4)).update(rest.subarray(0, n)).digest();
    if (!hash.equals(rest.subarray(n))) {
      throw damaged('EDIGEST', `${where} fails its BLAKE3: the stream is damaged (or does not continue the one this receive started); nothing of it was applied`,
        offset, record, type);
    }
    if (type === undefined) throw damaged('EFORMAT', `${where} has an unknown type: the stream is newer than this DynamicFS, or not a send stream`, offset, record);
    let body: unknown;
    try {
      body = packr.unpack(rest.subarray(0, n));
    } catch (err) {
      throw damaged('EFORMAT', `${where}: its body is not msgpack (${(err as Error).message})`, offset, record, type);
    }
    const decoded = fromWire(type, body, (what) => damaged('EFORMAT', `${where}: ${what}`, offset, record, type));
    if (record === 0 && type !== 'header') throw damaged('EFORMAT', `${where}: a stream starts with its header record`, offset, record, type);
    if (record > 0 && type === 'header') throw damaged('EFORMAT', `${where}: a second header`, offset, record, type);
    const size = FRAME_BYTES + n;
    this.state.offset += size;
    this.state.record++;
    this.state.key = hash;
    if (type === 'end') {
      this.ended = true;
      if ((decoded.body as StreamEnd).records !== record) {
        throw damaged('EFORMAT', `${where} counts ${(decoded.body as StreamEnd).records} records before it, but ${record} came`, offset, record, type);
      }
    }
    return { ...decoded, number: record, offset, size, hash, raw: rest.subarray(0, n) } as ReadRecord;
  }
}

function truncated(offset: number, record: number, where: 'before' | 'inside'): DfsError {
  return new DfsError('EFORMAT', where === 'before'
    ? `the stream ends at byte ${offset}, after record ${record - 1}, without its end record: it is truncated; nothing of it was applied`
    : `the stream ends inside record ${record} (which starts at byte ${offset}): it is truncated; nothing of it was applied`, undefined, { offset, record });
}

function damaged(code: 'EDIGEST' | 'EFORMAT', message: string, offset: number, record: number, type?: RecordType): DfsError {
  return new DfsError(code, message, undefined, { offset, record, ...(type ? { recordType: type } : {}) });
}

/**
 * A body read before (a receive keeps its incremental's entry and delete bodies until its
 * final transaction), decoded and checked again; `where` names it in a refusal (EFORMAT).
 */
export function decodeBody(type: RecordType, raw: Buffer, where: string): StreamRecord {
  const bad: Bad = (what) => new DfsError('EFORMAT', `${where}: ${what}`);
  let body: unknown;
  try {
    body = packr.unpack(raw);
  } catch (err) {
    throw bad(`not msgpack (${(err as Error).message})`);
  }
  return fromWire(type, body, bad);
}

/** The msgpack body of a record (maps with the field names FORMAT.md lists). */
function toWire(r: StreamRecord): unknown {
  if (r.type === 'header') return { format: 'dynamicfs-send', ...r.body };
  if (r.type === 'entry') {
    const { extents, ...rest } = r.body;
    return { ...rest, extents: extents.map((x) => [x.offset, x.length, x.hash, x.data]) };
  }
  return r.body;
}

type Bad = (what: string) => DfsError;

const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isWhole = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isBin = (v: unknown, len?: number): v is Buffer => Buffer.isBuffer(v) && (len === undefined || v.length === len);
const orNull = <T>(v: unknown, is: (x: unknown) => x is T): boolean => v === null || is(v);

function fields(body: unknown, bad: Bad): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || Buffer.isBuffer(body)) throw bad('its body is not a map');
  return body as Record<string, unknown>;
}

/** The typed record a body decodes to, every field checked (a body of another shape is EFORMAT, naming the field). */
function fromWire(type: RecordType, body: unknown, bad: Bad): StreamRecord {
  const f = fields(body, bad);
  const need = (ok: boolean, what: string): void => { if (!ok) throw bad(`${what} is missing or of the wrong type`); };
  switch (type) {
    case 'header': {
      need(f.format === 'dynamicfs-send', 'format');
      need(isStr(f.name), 'name');
      need(isBin(f.guid, 16), 'guid');
      need(isNum(f.createdMs), 'createdMs');
      need(orNull(f.from, (v): v is Buffer => isBin(v, 16)), 'from');
      need(orNull(f.fromName, isStr), 'fromName');
      need((f.from === null) === (f.fromName === null), 'from and fromName');
      need(isStr(f.pool), 'pool');
      need(isWhole(f.extentSize) && (f.extentSize as number) > 0, 'extentSize');
      need(isNum(f.sentMs), 'sentMs');
      return { type, body: { name: f.name as string, guid: f.guid as Buffer, createdMs: f.createdMs as number, from: f.from as Buffer | null,
        fromName: f.fromName as string | null, pool: f.pool as string, extentSize: f.extentSize as number, sentMs: f.sentMs as number } };
    }
    case 'entry': {
      need(isStr(f.path), 'path');
      need(isStr(f.kind), 'kind');
      for (const k of ['mode', 'uid', 'gid', 'size', 'rdev']) need(isWhole(f[k]), k);
      for (const k of ['atimeMs', 'mtimeMs', 'ctimeMs']) need(isNum(f[k]), k);
      need(orNull(f.target, isStr), 'target');
      need(orNull(f.link, isStr), 'link');
      need(orNull(f.base, isStr), 'base');
      need(Array.isArray(f.xattrs) && f.xattrs.every((x) => Array.isArray(x) && x.length === 2 && isStr(x[0]) && isBin(x[1])), 'xattrs');
      need(Array.isArray(f.extents) && f.extents.every((x) => Array.isArray(x) && x.length === 4 && isWhole(x[0]) && isWhole(x[1])
        && isBin(x[2], 32) && typeof x[3] === 'boolean'), 'extents');
      const entry: StreamEntry = {
        path: f.path as string, kind: f.kind as InodeKind, mode: f.mode as number, uid: f.uid as number, gid: f.gid as number, size: f.size as number,
        atimeMs: f.atimeMs as number, mtimeMs: f.mtimeMs as number, ctimeMs: f.ctimeMs as number, rdev: f.rdev as number,
        target: f.target as string | null, link: f.link as string | null, base: f.base as string | null,
        xattrs: (f.xattrs as [string, Buffer][]).map(([k, v]) => [k, v]),
        extents: (f.extents as [number, number, Buffer, boolean][]).map(([offset, length, hash, data]) => ({ offset, length, hash, data })),
      };
      try {
        checkEntry(entry);
        if (entry.base !== null && entry.base !== '') checkEntry({ ...entry, path: entry.base, link: null });
      } catch (err) {
        throw bad((err as Error).message);
      }
      return { type, body: entry };
    }
    case 'delete':
      need(isStr(f.path) && f.path !== '', 'path');
      try {
        checkEntry({ path: f.path as string, kind: 'fifo', mode: 0, uid: 0, gid: 0, size: 0, atimeMs: 0, mtimeMs: 0, ctimeMs: 0, rdev: 0, target: null, xattrs: [],
          link: null, extents: [] });
      } catch (err) {
        throw bad((err as Error).message);
      }
      return { type, body: { path: f.path as string } };
    case 'data':
      need(isWhole(f.entry), 'entry');
      need(isStr(f.path), 'path');
      need(isWhole(f.offset), 'offset');
      need(isBin(f.hash, 32), 'hash');
      need(isBin(f.bytes) && (f.bytes as Buffer).length > 0, 'bytes');
      return { type, body: { entry: f.entry as number, path: f.path as string, offset: f.offset as number, hash: f.hash as Buffer, bytes: f.bytes as Buffer } };
    case 'end':
      for (const k of ['records', 'entries', 'deletes', 'data', 'dataBytes']) need(isWhole(f[k]), k);
      return { type, body: { records: f.records as number, entries: f.entries as number, deletes: f.deletes as number, data: f.data as number,
        dataBytes: f.dataBytes as number } };
  }
}
