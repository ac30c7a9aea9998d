/**
 * The byte layout of a repository pack file (docs/FORMAT.md, "Backup repositories"):
 *
 *   header (16) · object* · index (48 per object) · footer (64)
 *
 * An object is its length, its BLAKE3 (the extent's logical hash, its key) and its bytes,
 * so a pack whose index is damaged can still be read front to back. The index lists every
 * object (hash, offset of its bytes, length); the footer locates the index and carries its
 * BLAKE3, and a short BLAKE3 of its own fields. Pure functions: no I/O here.
 */
import { DfsError } from '../errors';
import { blake3 } from '../native';

export const PACK_MAGIC = Buffer.from('DFSBPACK', 'latin1');
export const PACK_END_MAGIC = Buffer.from('DFSBPEND', 'latin1');
export const PACK_MAJOR = 1;
export const PACK_MINOR = 0;
export const PACK_HEADER_BYTES = 16;
/** Before each object's bytes: length u32 and the 32-byte BLAKE3. */
export const OBJECT_HEADER_BYTES = 36;
export const INDEX_ENTRY_BYTES = 48;
export const FOOTER_BYTES = 64;
export const HASH_BYTES = 32;

/** One object of a pack as its index lists it. */
export interface PackEntry {
  hash: Buffer;
  /** Where the object's bytes start in the pack (after its 36-byte header). */
  offset: number;
  length: number;
}

export function packHeader(): Buffer {
  const b = Buffer.alloc(PACK_HEADER_BYTES);
  PACK_MAGIC.copy(b, 0);
  b.writeUInt16LE(PACK_MAJOR, 8);
  b.writeUInt16LE(PACK_MINOR, 10);
  return b;
}

export function objectHeader(hash: Buffer, length: number): Buffer {
  const b = Buffer.allocUnsafe(OBJECT_HEADER_BYTES);
  b.writeUInt32LE(length, 0);
  hash.copy(b, 4);
  return b;
}

/** The index and footer that end a pack whose index section starts at `indexOffset`. */
export function packTrailer(entries: readonly PackEntry[], indexOffset: number): Buffer {
  const index = Buffer.alloc(entries.length * INDEX_ENTRY_BYTES);
  entries.forEach((e, i) => {
    const at = i * INDEX_ENTRY_BYTES;
    e.hash.copy(index, at);
    index.writeBigUInt64LE(BigInt(e.offset), at + 32);
    index.writeUInt32LE(e.length, at + 40);
  });
  const footer = Buffer.alloc(FOOTER_BYTES);
  footer.writeBigUInt64LE(BigInt(indexOffset), 0);
  footer.writeUInt32LE(entries.length, 8);
  footer.writeUInt16LE(PACK_MAJOR, 12);
  footer.writeUInt16LE(PACK_MINOR, 14);
  blake3(index).copy(footer, 16);
  blake3(footer.subarray(0, 48)).copy(footer, 48, 0, 8);
  PACK_END_MAGIC.copy(footer, 56);
  return Buffer.concat([index, footer]);
}

/** Check a pack's first 16 bytes; `file` names it in the error. */
export function checkPackHeader(b: Buffer, file: string): void {
  if (b.length < PACK_HEADER_BYTES || !b.subarray(0, 8).equals(PACK_MAGIC)) {
    throw new DfsError('EFORMAT', `${file} is not a backup pack (its first bytes are not DFSBPACK)`, file);
  }
  const major = b.readUInt16LE(8);
  if (major !== PACK_MAJOR) throw new DfsError('EFORMAT', `${file} is a pack of format ${major}; this DynamicFS reads format ${PACK_MAJOR} (upgrade DynamicFS)`, file);
}

/** The footer's fields, verified: where the index starts and how many entries it has. */
export function parseFooter(b: Buffer, packSize: number, file: string): { indexOffset: number; count: number; indexHash: Buffer } {
  const bad = (why: string): DfsError => new DfsError('EFORMAT', `pack ${file}: its footer ${why}`, file);
  if (b.length !== FOOTER_BYTES || !b.subarray(56).equals(PACK_END_MAGIC)) throw bad('is missing (the pack is truncated or damaged)');
  if (!blake3(b.subarray(0, 48)).subarray(0, 8).equals(b.subarray(48, 56))) throw bad('fails its checksum');
  if (b.readUInt16LE(12) !== PACK_MAJOR) throw bad(`is of format ${b.readUInt16LE(12)}; this DynamicFS reads ${PACK_MAJOR}`);
  const indexOffset = Number(b.readBigUInt64LE(0));
  const count = b.readUInt32LE(8);
  if (indexOffset < PACK_HEADER_BYTES || indexOffset + count * INDEX_ENTRY_BYTES + FOOTER_BYTES !== packSize) throw bad('does not match the pack\'s size');
  return { indexOffset, count, indexHash: Buffer.from(b.subarray(16, 48)) };
}

/** The index section's entries, verified against the footer's hash and the pack's bounds. */
export function parseIndex(b: Buffer, footer: { indexOffset: number; count: number; indexHash: Buffer }, file: string): PackEntry[] {
  if (b.length !== footer.count * INDEX_ENTRY_BYTES || !blake3(b).equals(footer.indexHash)) {
    throw new DfsError('EFORMAT', `pack ${file}: its index fails its checksum`, file);
  }
  const out: PackEntry[] = [];
  for (let at = 0; at < b.length; at += INDEX_ENTRY_BYTES) {
    const e = { hash: Buffer.from(b.subarray(at, at + 32)), offset: Number(b.readBigUInt64LE(at + 32)), length: b.readUInt32LE(at + 40) };
    if (e.offset < PACK_HEADER_BYTES + OBJECT_HEADER_BYTES || e.offset + e.length > footer.indexOffset) {
      throw new DfsError('EFORMAT', `pack ${file}: index entry ${at / INDEX_ENTRY_BYTES} points outside the pack's objects`, file);
    }
    out.push(e);
  }
  return out;
}
