/**
 * The intent log's record, byte by byte (docs/FORMAT.md, "Intent log"): what one fsync
 * logged about one file — a byte range and its data, or (length 0) a new size only —
 * tied to the pool and to the committed generation it applies on, sealed with BLAKE3;
 * or a carry record: the group committing as its generation leaves these inodes' files
 * untouched, so their records of the generation before stay valid. Carry records are no
 * longer written (the group's metadata says what it carried: intent-log.ts CARRY_KEY);
 * a log an earlier build left is still replayed as its carry records say. Or a name
 * record (version 2): a namespace change of the open group (fs/name-log.ts: a file
 * created or unlinked), logged ahead of an fsync that needs it.
 */
import { blake3 } from '../native';

export const LOG_MAGIC = 0x4c534644; // "DFSL" read as a little-endian u32
export const LOG_VERSION = 1;
/** The version of name records (an earlier build stops reading a log at the first). */
export const LOG_VERSION_NAMES = 2;
export const LOG_HEADER_BYTES = 80;
const HASH_BYTES = 32;
/** flags bit 0: the last record of one fsync (replay applies whole fsyncs only). */
export const FLAG_END = 1;
/** flags bit 1: a carry record (data: the inode numbers, u64 each). */
export const FLAG_CARRY = 2;
/** flags bit 2: a name record (data: the change, msgpack; ino: the inode it names; version 2). */
export const FLAG_NAME = 4;

export interface LogRecord {
  generation: number;
  seq: number;
  ino: number;
  /** Where data goes; with empty data, ignored. */
  offset: number;
  /** The file's size after this record (a truncate when data is empty). */
  size: number;
  mtimeMs: number;
  data: Buffer;
  /** Its place among its fsync's records (0 for the first). */
  part: number;
  /** This record ends its fsync. */
  end: boolean;
  /** A carry record: data lists inode numbers; ino, offset, size, mtime are 0. */
  carry: boolean;
  /** A name record: data is the change; offset and size are 0, mtime its time. */
  name: boolean;
}

/** The carry record of the group that will commit as `generation` (the format of earlier builds' logs). */
export function carryRecord(generation: number, seq: number, inos: number[]): LogRecord {
  const data = Buffer.alloc(8 * inos.length);
  inos.forEach((ino, i) => data.writeBigUInt64LE(BigInt(ino), 8 * i));
  return { generation, seq, ino: 0, offset: 0, size: 0, mtimeMs: 0, data, part: 0, end: true, carry: true, name: false };
}

function carriedInos(r: LogRecord): Set<number> {
  const out = new Set<number>();
  for (let at = 0; at + 8 <= r.data.length; at += 8) out.add(Number(r.data.readBigUInt64LE(at)));
  return out;
}

/** A pool uuid's 16 bytes (the superblock keeps it as text). */
export function uuidBytes(uuid: string): Buffer {
  const b = Buffer.from(uuid.replace(/-/g, ''), 'hex');
  if (b.length !== 16) throw new Error(`pool uuid "${uuid}" is not 16 bytes of hex`);
  return b;
}

export function recordBytes(r: LogRecord): number {
  return LOG_HEADER_BYTES + r.data.length + HASH_BYTES;
}

/** Encode records back to back into one buffer (one append per disk). */
export function encodeRecords(pool: Buffer, records: LogRecord[]): Buffer {
  const out = Buffer.alloc(records.reduce((n, r) => n + recordBytes(r), 0));
  let at = 0;
  for (const r of records) {
    out.writeUInt32LE(LOG_MAGIC, at);
    out.writeUInt16LE(r.name ? LOG_VERSION_NAMES : LOG_VERSION, at + 4);
    out.writeUInt16LE((r.end ? FLAG_END : 0) | (r.carry ? FLAG_CARRY : 0) | (r.name ? FLAG_NAME : 0), at + 6);
    pool.copy(out, at + 8);
    out.writeBigUInt64LE(BigInt(r.generation), at + 24);
    out.writeBigUInt64LE(BigInt(r.seq), at + 32);
    out.writeBigUInt64LE(BigInt(r.ino), at + 40);
    out.writeBigUInt64LE(BigInt(r.offset), at + 48);
    out.writeBigUInt64LE(BigInt(r.size), at + 56);
    out.writeDoubleLE(r.mtimeMs, at + 64);
    out.writeUInt32LE(r.data.length, at + 72);
    out.writeUInt32LE(r.part, at + 76);
    r.data.copy(out, at + LOG_HEADER_BYTES);
    const end = at + LOG_HEADER_BYTES + r.data.length;
    blake3(out.subarray(at, end)).copy(out, end);
    at = end + HASH_BYTES;
  }
  return out;
}

/**
 * The records of one disk's log that verify, in order, up to the first that does not
 * (a torn or corrupt tail: nothing after it on this disk is trusted; other disks hold
 * the copies). Records of another pool end the walk too.
 */
export function decodeRecords(pool: Buffer, log: Buffer): LogRecord[] {
  const out: LogRecord[] = [];
  let at = 0;
  while (at + LOG_HEADER_BYTES + HASH_BYTES <= log.length) {
    if (log.readUInt32LE(at) !== LOG_MAGIC) break;
    const version = log.readUInt16LE(at + 4);
    const flags = log.readUInt16LE(at + 6);
    if (version !== (flags & FLAG_NAME ? LOG_VERSION_NAMES : LOG_VERSION)) break;
    if (!log.subarray(at + 8, at + 24).equals(pool)) break;
    const length = log.readUInt32LE(at + 72);
    const end = at + LOG_HEADER_BYTES + length;
    if (end + HASH_BYTES > log.length) break;
    if (!blake3(log.subarray(at, end)).equals(log.subarray(end, end + HASH_BYTES))) break;
    out.push({
      generation: Number(log.readBigUInt64LE(at + 24)),
      seq: Number(log.readBigUInt64LE(at + 32)),
      ino: Number(log.readBigUInt64LE(at + 40)),
      offset: Number(log.readBigUInt64LE(at + 48)),
      size: Number(log.readBigUInt64LE(at + 56)),
      mtimeMs: log.readDoubleLE(at + 64),
      data: Buffer.from(log.subarray(at + LOG_HEADER_BYTES, end)),
      part: log.readUInt32LE(at + 76),
      end: (flags & FLAG_END) !== 0,
      carry: (flags & FLAG_CARRY) !== 0,
      name: (flags & FLAG_NAME) !== 0,
    });
    at = end + HASH_BYTES;
  }
  return out;
}

/**
 * What replay applies: one copy per sequence number of the records valid on the
 * committed `generation` — its own, and a carried inode's of the generations before
 * it, back to the first group that did not carry it (`carriedSince`: per inode, the
 * first of the commits up to `generation` that all carried it; or, in an earlier
 * build's log, carry records: of several of one generation, from commits that failed
 * and the one that did, the last counts) — whole
 * fsyncs only (every part of it found: an fsync with a part on no disk never
 * returned), in sequence order. A name record is valid on its own generation only:
 * a group commit holds the change it names (they are never carried).
 */
export function replayable(generation: number, perDisk: LogRecord[][], carriedSince: ReadonlyMap<number, number> = new Map()): LogRecord[] {
  // Keyed by generation too: a disk that missed a reset must not shadow a newer record with the same number.
  const key = (g: number, seq: number) => `${g}:${seq}`;
  const bySeq = new Map<string, LogRecord>();
  for (const list of perDisk) for (const r of list) if (r.generation <= generation && !bySeq.has(key(r.generation, r.seq))) bySeq.set(key(r.generation, r.seq), r);
  const carries = new Map<number, LogRecord>();
  for (const r of bySeq.values()) {
    const had = carries.get(r.generation);
    if (r.carry && (!had || had.seq < r.seq)) carries.set(r.generation, r);
  }
  const carried = new Map<number, Set<number>>([...carries].map(([g, r]) => [g, carriedInos(r)]));
  const valid = (ino: number, g: number): boolean => {
    if ((carriedSince.get(ino) ?? Infinity) <= g + 1) return true;
    for (let h = g + 1; h <= generation; h++) if (!carried.get(h)?.has(ino)) return false;
    return true;
  };
  const out: LogRecord[] = [];
  for (const last of [...bySeq.values()].filter((r) => r.end && !r.carry).sort((a, b) => a.seq - b.seq)) {
    if (last.name ? last.generation !== generation || last.part !== 0 : !valid(last.ino, last.generation)) continue;
    const parts: LogRecord[] = [];
    for (let p = 0; p <= last.part; p++) {
      const r = bySeq.get(key(last.generation, last.seq - last.part + p));
      if (!r || r.part !== p || r.carry || r.name !== last.name || r.generation !== last.generation || r.ino !== last.ino || (r.end && r !== last)) break;
      parts.push(r);
    }
    if (parts.length === last.part + 1) out.push(...parts);
  }
  return out;
}
