/**
 * A disk, as the engine sees it: a store of fragments, named by extent id and index,
 * never by path. LocalDisk (local-disk.ts) keeps them in a directory (format 1 layout,
 * docs/FORMAT.md); an object store can be one later. Every fragment I/O goes through
 * this interface — reads, writes, scrub, gc, the probe and the health check — so the
 * decorators around it (metrics, the foreground-activity meter, a test's fault
 * injector) see all of it.
 */
import type { FragmentHeaderInput } from '../native';
import type { DiskLabel } from './label';

export interface StoredFragment {
  extentId: Buffer;
  index: number;
  mtimeMs: number;
  bytes: number;
}

/** An in-flight entry (a fragment being written); an old one is an orphan. */
export interface TmpEntry {
  name: string;
  mtimeMs: number;
  bytes: number;
}

export interface DiskSpace {
  capacityBytes: number;
  freeBytes: number;
  /** Why the disk takes no writes (an errno name: EROFS, EACCES, ...), or null when it does. */
  writeError: string | null;
}

/** Who asked for an I/O: a scrub's reads and a tier migration's reads and writes are background and do not count as foreground activity. */
export type IoPriority = 'foreground' | 'background';

/** Where copyTo writes: `length` bytes at `offset` of the open file `fd`. */
export interface CopyTarget {
  fd: number;
  offset: number;
  length: number;
}

export interface FragmentStore {
  readonly id: number;
  /**
   * Write a fragment; resolves to the bytes stored. Durable when this resolves, or with
   * sync false only once sync() has returned (a transaction group syncs each disk once).
   */
  write(header: FragmentHeaderInput, payload: Uint8Array, sync?: boolean, priority?: IoPriority): Promise<number>;
  /** Make every fragment written without sync durable, directory entries included. */
  sync(): Promise<void>;
  /**
   * Read and verify: the header must name this extent and index, the payload match
   * expectedHash (the metadata's BLAKE3). Errors carry a code: ENOENT, EDIGEST, EFORMAT, EIO...
   */
  read(extentId: Buffer, index: number, expectedHash: Buffer, priority?: IoPriority): Promise<Buffer>;
  /**
   * Read and verify as `read` does, then write the first `length` bytes of the payload at
   * `offset` of the open file `fd` (no sync): a copy into a file (a backup's pack) that
   * needs no buffer in between. Resolves to the payload's length.
   */
  copyTo(extentId: Buffer, index: number, expectedHash: Buffer, target: CopyTarget, priority?: IoPriority): Promise<number>;
  /** Delete a fragment (absent already is fine). */
  remove(extentId: Buffer, index: number): Promise<void>;
  /** Delete an in-flight entry listed by listTmp. */
  removeTmp(name: string): Promise<void>;
  /** Whether the fragment exists (no read, no verify: the mount scan's question). */
  has(extentId: Buffer, index: number): Promise<boolean>;
  /** Every fragment on the disk. */
  list(): AsyncGenerator<StoredFragment>;
  /** In-flight entries (orphans when old). */
  listTmp(): Promise<TmpEntry[]>;
  /** Capacity, free space and whether writes are possible (zeros when the disk cannot be reached). */
  space(): Promise<DiskSpace>;
  /** Write + sync + read back `bytes` and compare; the round trip in ms. Rejects with the I/O error's code. */
  probe(bytes: number): Promise<number>;
  /** The disk's label; undefined when it has none (vanished, or not mounted). Rejects when it cannot be read or is damaged. */
  label(): Promise<DiskLabel | undefined>;
  /** Append to the disk's intent log (docs/FORMAT.md); durable (fdatasync'd) when this resolves. */
  appendLog(bytes: Uint8Array): Promise<void>;
  /** The whole intent log as stored (empty when there is none); the caller verifies its records. */
  readLog(): Promise<Buffer>;
  /**
   * Empty the intent log (its records are obsolete: a newer group is committed). keepSpace:
   * keep the file's bytes, and write the next records over them from the start (their
   * fdatasync then changes no file size); the obsolete records after them name older
   * generations, which replay never applies.
   */
  resetLog(opts?: { keepSpace?: boolean }): Promise<void>;
  /** Release what the store keeps open between calls (the intent log's descriptor); a later call reopens. */
  close(): void;
}
