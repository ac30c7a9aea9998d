/**
 * The bytes of a disk's metadata area (DISK/meta/, docs/FORMAT.md "Metadata area"): the
 * framed, BLAKE3-sealed log records of generations, and the sealed head naming the
 * checkpoint and its log. Codecs only; meta-area.ts does the file I/O.
 */
import * as v from 'valibot';
import { DfsError } from '../errors';
import { blake3 } from '../native';
import { openJson, sealJson } from './durable-file';
import { LEGACY_FORMAT } from './features';
import type { Superblock } from './superblock';

export const RECORD_MAGIC = Buffer.from('DFML', 'ascii');
/** 2: each record carries the seal of the one before (the hash chain). */
export const RECORD_MAJOR = 2;
export const RECORD_MINOR = 0;
/** magic 4, major 2, minor 2, pool uuid 16, generation 8, previous seal 32, payload length 4. */
export const RECORD_HEADER = 68;
export const RECORD_HASH = 32;
/** The chain's value before any record is known (a new pool; a checkpoint of a generation no disk had the record of). */
export const NO_CHAIN = Buffer.alloc(RECORD_HASH);
/** A payload longer than this is damage, not a generation (a group's writes stay far below it). */
export const RECORD_MAX_PAYLOAD = 1 << 30;

/** 2: the checkpoint names the chain's value at its generation. */
export const HEAD_FORMAT = 2;

export interface LogRecord {
  generation: number;
  payload: Buffer;
  /** The record's BLAKE3 (its last 32 bytes): the chain's value at its generation, which the next record carries. */
  seal: Buffer;
}

export function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new DfsError('EFORMAT', `"${uuid}" is not a pool uuid`);
  return Buffer.from(hex, 'hex');
}

/** One framed record: header (with `prev`, the seal of the generation before), payload, BLAKE3 of both. */
export function encodeRecord(poolUuid: string, generation: number, prev: Buffer, payload: Buffer): Buffer {
  const out = Buffer.alloc(RECORD_HEADER + payload.length + RECORD_HASH);
  RECORD_MAGIC.copy(out, 0);
  out.writeUInt16LE(RECORD_MAJOR, 4);
  out.writeUInt16LE(RECORD_MINOR, 6);
  uuidBytes(poolUuid).copy(out, 8);
  out.writeBigUInt64LE(BigInt(generation), 24);
  prev.copy(out, 32);
  out.writeUInt32LE(payload.length, 64);
  payload.copy(out, RECORD_HEADER);
  blake3(out.subarray(0, RECORD_HEADER + payload.length)).copy(out, RECORD_HEADER + payload.length);
  return out;
}

/**
 * The records of a log, in order, while they verify, belong to `poolUuid` and follow
 * each other from `firstGeneration`, each carrying the seal of the one before (the first:
 * `anchor`); `end` is where the good records stop (a torn or damaged tail, or anything
 * after it, is not trusted).
 */
export function decodeRecords(log: Buffer, poolUuid: string, firstGeneration: number, anchor: Buffer): { records: LogRecord[]; end: number } {
  const uuid = uuidBytes(poolUuid);
  const records: LogRecord[] = [];
  let at = 0;
  while (at + RECORD_HEADER + RECORD_HASH <= log.length) {
    const h = log.subarray(at, at + RECORD_HEADER);
    if (!h.subarray(0, 4).equals(RECORD_MAGIC) || h.readUInt16LE(4) !== RECORD_MAJOR || !h.subarray(8, 24).equals(uuid)) break;
    const length = h.readUInt32LE(64);
    const generation = Number(h.readBigUInt64LE(24));
    const end = at + RECORD_HEADER + length + RECORD_HASH;
    if (length > RECORD_MAX_PAYLOAD || end > log.length || generation !== firstGeneration + records.length) break;
    if (!h.subarray(32, 64).equals(records.at(-1)?.seal ?? anchor)) break;
    const seal = log.subarray(end - RECORD_HASH, end);
    if (!blake3(log.subarray(at, end - RECORD_HASH)).equals(seal)) break;
    records.push({ generation, payload: Buffer.from(log.subarray(at + RECORD_HEADER, end - RECORD_HASH)), seal: Buffer.from(seal) });
    at = end;
  }
  return { records, end: at };
}

/** The superblock as a head carries it (the disk paths are the importer's to give). */
export type HeadSuperblock = Omit<Superblock, 'diskPaths'>;

/** DISK/meta/head: what the area holds. */
export interface AreaHead {
  format: number;
  poolUuid: string;
  diskUuid: string;
  /** The pool's superblock, so that `import` can rebuild pool.json from a disk. */
  superblock: HeadSuperblock;
  /** chain: hex, the seal of generation `generation`'s record (NO_CHAIN when it was not known). */
  checkpoint: { generation: number; file: string; length: number; blake3: string; chain: string; writtenMs: number };
  /** The log of the generations after the checkpoint's. */
  log: string;
}

export function sealHead(h: AreaHead): string {
  const sb = h.superblock;
  return sealJson({
    format: h.format, poolUuid: h.poolUuid, diskUuid: h.diskUuid,
    superblock: { format: sb.format, uuid: sb.uuid, createdMs: sb.createdMs, policy: sb.policy, extentSize: sb.extentSize, inlineMax: sb.inlineMax,
      ...(sb.format === LEGACY_FORMAT ? {} : { features: sb.features }) },
    checkpoint: { generation: h.checkpoint.generation, file: h.checkpoint.file, length: h.checkpoint.length, blake3: h.checkpoint.blake3,
      chain: h.checkpoint.chain, writtenMs: h.checkpoint.writtenMs },
    log: h.log,
  });
}

/**
 * A head's shape. The seal proves the bytes are what a DynamicFS wrote, not that they are a
 * head (a sealed document of another kind, or a writer's bug): the readers of a head's
 * fields need these types. Fields a newer minor version adds pass through.
 */
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const HEAD_SHAPE = v.object({
  poolUuid: v.string(),
  diskUuid: v.string(),
  superblock: v.object({ format: v.pipe(v.number(), v.integer(), v.minValue(1)), uuid: v.string(), createdMs: v.number(), policy: v.string(),
    extentSize: v.pipe(v.number(), v.integer(), v.minValue(1)), inlineMax: count,
    features: v.optional(v.record(v.string(), v.picklist(['enabled', 'active']))) }),
  checkpoint: v.object({ generation: count, file: v.string(), length: count, blake3: v.string(), chain: v.string(), writtenMs: v.number() }),
  log: v.string(),
});

/** Parse and verify a head (EFORMAT when damaged, of another format, or not a head's shape). */
export function openHead(text: string, file: string): AreaHead {
  const body = openJson(text, 'metadata head', file) as unknown as AreaHead;
  if (body.format !== HEAD_FORMAT) throw new DfsError('EFORMAT', `metadata head ${file} has format ${String(body.format)}; this DynamicFS reads ${HEAD_FORMAT}`, file);
  const shape = v.safeParse(HEAD_SHAPE, body);
  if (!shape.success) {
    const issue = shape.issues[0];
    throw new DfsError('EFORMAT', `metadata head ${file} is not a metadata head: ${v.getDotPath(issue) ?? '(top)'}: ${issue.message}`, file);
  }
  return body;
}
