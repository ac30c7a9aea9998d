/**
 * The byte layout of a backup manifest (docs/FORMAT.md, "Backup repositories"):
 *
 *   "DFSBMANI" · major u16 · minor u16 · reserved u32,   then records:
 *   type u8 · length u32 LE · body (msgpack, `length` bytes) · BLAKE3(type, length, body) (16 bytes)
 *
 * Record 1 is the header (who, what, when), then one record 2 per tree entry in walk
 * order (fs/tree-entries.ts), then record 3, the end (counts and the BLAKE3 of every
 * entry record's hash): a manifest without its end, or whose end disagrees, is cut short.
 * Pure functions and a push decoder: no I/O here.
 */
import { Packr } from 'msgpackr';
import { DfsError } from '../errors';
import { blake3 } from '../native';
import { S_IF } from '../fs/file-types';
import type { WalkedEntry } from '../fs/tree-entries';
import type { InodeKind } from '../meta/records';

export const MANIFEST_MAGIC = Buffer.from('DFSBMANI', 'latin1');
export const MANIFEST_MAJOR = 1;
export const MANIFEST_MINOR = 0;
export const MANIFEST_HEADER_BYTES = 16;
export const RECORD_HEAD_BYTES = 5;
export const RECORD_HASH_BYTES = 16;
/** A record's body may not exceed this (a tree entry with 64 KiB xattrs and thousands of extents fits well). */
export const MAX_RECORD_BYTES = 64 << 20;

export const enum RecordType { Header = 1, Entry = 2, End = 3 }

export type BackupType = 'full' | 'incremental' | 'differential';

export interface ManifestHeader {
  format: 'dynamicfs-backup-manifest';
  version: 1;
  id: string;
  type: BackupType;
  /** The backup this one was computed against (incremental, differential), or null. */
  parent: string | null;
  /** The source pool's uuid and directory. */
  pool: string;
  poolDir: string;
  snapshot: string;
  snapshotGen: number;
  startedMs: number;
}

export interface ManifestEnd {
  state: 'completed';
  finishedMs: number;
  entries: number;
  files: number;
  dirs: number;
  /** Logical bytes of the files (sizes, holes included; each inode once). */
  bytes: number;
  /** BLAKE3 of every entry record's 16-byte hash, in order. */
  entriesHash: Buffer;
}

export interface EntryExtentRef {
  offset: number;
  length: number;
  /** BLAKE3 of the extent's bytes: the object's key. */
  hash: Buffer;
}

/** One tree entry as a manifest keeps it (fs/tree-entries.ts WalkedEntry without the pool's extent ids). */
export type ManifestEntry = Omit<WalkedEntry, 'extents'> & { extents: EntryExtentRef[] };

const packr = new Packr({ useRecords: false, variableMapSize: true });

export function manifestFileHeader(): Buffer {
  const b = Buffer.alloc(MANIFEST_HEADER_BYTES);
  MANIFEST_MAGIC.copy(b, 0);
  b.writeUInt16LE(MANIFEST_MAJOR, 8);
  b.writeUInt16LE(MANIFEST_MINOR, 10);
  return b;
}

/** One framed record; its 16-byte hash is the frame's last bytes. */
export function encodeRecord(type: RecordType, body: unknown): Buffer {
  const payload = packr.pack(body);
  const out = Buffer.allocUnsafe(RECORD_HEAD_BYTES + payload.length + RECORD_HASH_BYTES);
  out.writeUInt8(type, 0);
  out.writeUInt32LE(payload.length, 1);
  payload.copy(out, RECORD_HEAD_BYTES);
  blake3(out.subarray(0, RECORD_HEAD_BYTES + payload.length), RECORD_HASH_BYTES).copy(out, RECORD_HEAD_BYTES + payload.length);
  return out;
}

/** An entry as the msgpack array record 2 carries (field order documented in FORMAT.md). */
export function entryBody(e: ManifestEntry): unknown[] {
  return [e.path, e.kind, e.mode, e.uid, e.gid, e.size, e.atimeMs, e.mtimeMs, e.ctimeMs, e.rdev, e.target,
    e.xattrs.map(([k, v]) => [k, v]), e.ino, e.nlink, e.link, e.extents.map((x) => [x.offset, x.length, x.hash])];
}

const KINDS: ReadonlySet<string> = new Set(Object.keys(S_IF));

export function entryFromBody(b: unknown, where: string): ManifestEntry {
  const bad = (): DfsError => new DfsError('EFORMAT', `${where}: not a tree entry record`);
  if (!Array.isArray(b) || b.length !== 16) throw bad();
  const [path, kind, mode, uid, gid, size, atimeMs, mtimeMs, ctimeMs, rdev, target, xattrs, ino, nlink, link, extents] = b as unknown[];
  if (typeof path !== 'string' || typeof kind !== 'string' || !KINDS.has(kind) || !Array.isArray(xattrs) || !Array.isArray(extents)) throw bad();
  for (const n of [mode, uid, gid, size, atimeMs, mtimeMs, ctimeMs, rdev, ino, nlink]) if (typeof n !== 'number') throw bad();
  if ((target !== null && typeof target !== 'string') || (link !== null && typeof link !== 'string')) throw bad();
  return {
    path, kind: kind as InodeKind, mode: mode as number, uid: uid as number, gid: gid as number, size: size as number,
    atimeMs: atimeMs as number, mtimeMs: mtimeMs as number, ctimeMs: ctimeMs as number, rdev: rdev as number,
    target: target as string | null, ino: ino as number, nlink: nlink as number, link: link as string | null,
    xattrs: (xattrs as unknown[]).map((x) => {
      if (!Array.isArray(x) || typeof x[0] !== 'string' || !Buffer.isBuffer(x[1])) throw bad();
      return [x[0], x[1]] as [string, Buffer];
    }),
    extents: (extents as unknown[]).map((x) => {
      if (!Array.isArray(x) || typeof x[0] !== 'number' || typeof x[1] !== 'number' || !Buffer.isBuffer(x[2]) || x[2].length !== 32) throw bad();
      return { offset: x[0], length: x[1], hash: x[2] as Buffer };
    }),
  };
}

export interface RawRecord {
  type: number;
  /** Where the record starts in the file. */
  offset: number;
  body: unknown;
  /** The frame's bytes, for copying a record unchanged. */
  frame: Buffer;
  hash: Buffer;
}

/** Splits a manifest's bytes, pushed in chunks, into verified records. */
export class ManifestDecoder {
  private buf: Buffer = Buffer.alloc(0);
  /** File offset of buf[0]. */
  private base = 0;
  private headerSeen = false;

  constructor(private readonly file: string) {}

  /** The records complete in what was pushed so far. */
  *push(chunk: Buffer): Generator<RawRecord> {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (!this.headerSeen) {
      if (this.buf.length < MANIFEST_HEADER_BYTES) return;
      if (!this.buf.subarray(0, 8).equals(MANIFEST_MAGIC)) throw new DfsError('EFORMAT', `${this.file} is not a backup manifest (its first bytes are not DFSBMANI)`, this.file);
      const major = this.buf.readUInt16LE(8);
      if (major !== MANIFEST_MAJOR) throw new DfsError('EFORMAT', `manifest ${this.file} is of format ${major}; this DynamicFS reads ${MANIFEST_MAJOR} (upgrade DynamicFS)`, this.file);
      this.headerSeen = true;
      this.consume(MANIFEST_HEADER_BYTES);
    }
    for (;;) {
      if (this.buf.length < RECORD_HEAD_BYTES) return;
      const type = this.buf.readUInt8(0);
      const length = this.buf.readUInt32LE(1);
      if (length > MAX_RECORD_BYTES || type < RecordType.Header || type > RecordType.End) {
        throw this.damaged(`has a record that cannot be one (type ${type}, ${length} bytes)`);
      }
      const total = RECORD_HEAD_BYTES + length + RECORD_HASH_BYTES;
      if (this.buf.length < total) return;
      const frame = this.buf.subarray(0, total);
      const hash = frame.subarray(total - RECORD_HASH_BYTES);
      if (!blake3(frame.subarray(0, total - RECORD_HASH_BYTES), RECORD_HASH_BYTES).equals(hash)) throw this.damaged('has a record that fails its BLAKE3');
      let body: unknown;
      try {
        body = packr.unpack(frame.subarray(RECORD_HEAD_BYTES, RECORD_HEAD_BYTES + length));
      } catch {
        throw this.damaged('has a record whose body is not msgpack');
      }
      const offset = this.base;
      this.consume(total);
      yield { type, offset, body, frame, hash };
    }
  }

  /** Bytes left over after the last whole record (a cut-short file has some). */
  get leftover(): number {
    return this.buf.length;
  }

  get offset(): number {
    return this.base;
  }

  private consume(n: number): void {
    this.buf = this.buf.subarray(n);
    this.base += n;
  }

  private damaged(why: string): DfsError {
    return new DfsError('EFORMAT', `manifest ${this.file} ${why} at offset ${this.base}`, this.file, { offset: this.base });
  }
}
