/**
 * The record types the metadata store holds, and their checksums. A checksum is the
 * BLAKE3 of a msgpack array of the record's fields in a fixed order, prefixed by the
 * record type, so the same record always hashes the same and no two types collide.
 */
import { Packr } from 'msgpackr';
import { blake3 } from '../native';

export type InodeKind = 'file' | 'dir';

export interface Inode {
  ino: number;
  kind: InodeKind;
  mode: number;
  size: number;
  nlink: number;
  mtimeMs: number;
  ctimeMs: number;
  /** Redundancy policy for new extents ("rs:4+2"); null: the pool default. */
  policy: string | null;
}

export type ExtentScheme = 'rs' | 'mirror' | 'inline';

export interface FragmentRef {
  index: number;
  diskId: number;
  /** BLAKE3 of the fragment payload. */
  hash: Buffer;
}

export interface Extent {
  id: Buffer; // 16 bytes
  ino: number;
  offset: number;
  length: number;
  scheme: ExtentScheme;
  k: number;
  m: number;
  /** Payload bytes per fragment (the data is zero-padded to k * fragLen). */
  fragLen: number;
  /** BLAKE3 of the extent's logical bytes, checked after every decode. */
  logicalHash: Buffer;
  inlineData: Buffer | null;
  fragments: FragmentRef[];
}

const packr = new Packr({ useRecords: false, variableMapSize: true });

export function inodeChecksum(i: Inode): Buffer {
  return blake3(packr.pack(['inode/1', i.ino, i.kind, i.mode, i.size, i.nlink, i.mtimeMs, i.ctimeMs, i.policy]));
}

export function extentChecksum(e: Extent): Buffer {
  const frags = [...e.fragments].sort((a, b) => a.index - b.index).map((f) => [f.index, f.diskId, f.hash]);
  return blake3(packr.pack(['extent/1', e.id, e.ino, e.offset, e.length, e.scheme, e.k, e.m, e.fragLen,
    e.logicalHash, e.inlineData, frags]));
}
