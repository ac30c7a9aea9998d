/**
 * The only module that loads the addon. Everything above imports these typed
 * functions; errors from native code are rethrown as DfsError with the same code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError, toDfsError } from '../errors';
import type {
  Blake3HasherInstance, Blake3HasherOptions, FragmentHeader, FragmentHeaderInput,
  FragmentWriteResult, NativeAddon, PeerCredentials,
} from './types';

export type { FragmentHeader, FragmentHeaderInput, FragmentWriteResult, PeerCredentials } from './types';

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'binding.gyp'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new DfsError('EINTERNAL', `cannot find the dynamicfs package root above ${start}`);
    dir = up;
  }
}

function load(): NativeAddon {
  const root = findPackageRoot(__dirname);
  const file = path.join(root, 'build', 'Release', 'dynamicfs_native.node');
  if (!fs.existsSync(file)) {
    throw new DfsError('EINTERNAL', `native addon not built: ${file} is missing; run \`npm ci\` (or \`npx node-gyp rebuild\`) in ${root}`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as NativeAddon;
}

/** The raw addon, for the export check only. */
export const addon: NativeAddon = load();

function sync<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toDfsError(err);
  }
}

async function async<T>(p: () => Promise<T>): Promise<T> {
  try {
    return await p();
  } catch (err) {
    throw toDfsError(err);
  }
}

/** Which SIMD paths were picked (after the DYNAMICFS_RS_ISA / DYNAMICFS_BLAKE3_ISA caps). */
export function isa(): { rs: string; blake3: string } {
  return { rs: addon.rsIsa(), blake3: addon.blake3Isa() };
}

/** Fill `parity` (m buffers) from `data` (k buffers), all of one length. */
export function rsEncode(k: number, m: number, data: Uint8Array[], parity: Uint8Array[]): void {
  sync(() => addon.rsEncode(k, m, data, parity));
}

/**
 * Recompute the shards listed in `targets` into their buffers in `shards`, from any
 * k other non-null shards. Synchronous: call it from a worker for large shards.
 */
export function rsReconstruct(k: number, m: number, shards: (Uint8Array | null)[], targets: number[]): void {
  sync(() => addon.rsReconstruct(k, m, shards, targets));
}

/** rsReconstruct on the libuv pool. */
export function rsReconstructAsync(k: number, m: number, shards: (Uint8Array | null)[], targets: number[]): Promise<void> {
  return async(() => addon.rsReconstructAsync(k, m, shards, targets));
}

export function blake3(data: Uint8Array, outLen?: number): Buffer {
  return sync(() => addon.blake3(data, outLen));
}

/** The 32-byte BLAKE3 of data, written into out at offset (no allocation: for many small hashes). */
export function blake3Into(data: Uint8Array, out: Uint8Array, offset = 0): void {
  sync(() => addon.blake3Into(data, out, offset));
}

/** BLAKE3 on the libuv pool, for large buffers on the coordinator's thread. */
export function blake3Async(data: Uint8Array): Promise<Buffer> {
  return async(() => addon.blake3Async(data));
}

export function blake3Keyed(key: Uint8Array, data: Uint8Array, outLen?: number): Buffer {
  return sync(() => addon.blake3Keyed(key, data, outLen));
}

export function blake3DeriveKey(context: string, material: Uint8Array, outLen?: number): Buffer {
  return sync(() => addon.blake3DeriveKey(context, material, outLen));
}

/** Incremental BLAKE3 (hash, keyed with `key`, or derive-key with `context`). */
export function blake3Hasher(options?: Blake3HasherOptions): Blake3HasherInstance {
  return sync(() => new addon.Blake3Hasher(options));
}

/**
 * Write a fragment under diskRoot: tmp → fdatasync → rename → fsync dir, or with sync
 * false the same without the two syncs (durable once diskSync(diskRoot) returns).
 */
export function fragWrite(diskRoot: string, header: FragmentHeaderInput, payload: Uint8Array, sync = true): Promise<FragmentWriteResult> {
  return async(() => addon.fragWrite(diskRoot, header, payload, sync));
}

/** syncfs on the filesystem holding diskRoot: what fragWrite(..., false) wrote becomes durable. */
export function diskSync(diskRoot: string): Promise<void> {
  return async(() => addon.diskSync(diskRoot));
}

/** Read a fragment and verify its header and payload checksums (and expectedHash if given). */
export function fragRead(file: string, expectedHash?: Uint8Array): Promise<{ header: FragmentHeader; payload: Buffer }> {
  return async(() => addon.fragRead(file, expectedHash));
}

/**
 * Read and verify fragment `index` of extent `extentId` at `file` as fragRead does, then
 * write the first `length` bytes of its payload at `offset` of the open file `fd` (no sync):
 * the bytes never become a JS buffer. Resolves to the payload's length.
 */
export function fragCopyTo(file: string, expectedHash: Uint8Array, extentId: Uint8Array, index: number, fd: number, offset: number, length: number): Promise<number> {
  return async(() => addon.fragCopyTo(file, expectedHash, extentId, index, fd, offset, length));
}

export function fragReadHeader(file: string): Promise<FragmentHeader> {
  return async(() => addon.fragReadHeader(file));
}

/** "frags/ab/cd/<hex>.<index>" relative to a disk root. */
export function fragRelativePath(extentId: Uint8Array, index: number): string {
  return sync(() => addon.fragRelativePath(extentId, index));
}

export function fragDirectDisabled(diskRoot: string): boolean {
  return sync(() => addon.fragDirectDisabled(diskRoot));
}

/** Take the exclusive flock on `file`; throws DfsError EBUSY if another process holds it. */
export function lockAcquire(file: string): number {
  return sync(() => addon.lockAcquire(file));
}

export function lockRelease(fd: number): void {
  sync(() => addon.lockRelease(fd));
}

/**
 * Write `data` at `offset` of a log, then `zerosAfter` zero bytes, then fdatasync (when
 * sync), in one thread-pool call; resolves to the file's link count (0: unlinked under
 * us). fd -1 opens `path` (never creating it) and closes it after; `path` names the file
 * in errors either way.
 */
export function logWriteAt(fd: number, path: string, offset: number, data: Uint8Array, zerosAfter: number, sync: boolean): Promise<number> {
  return async(() => addon.logWriteAt(fd, path, offset, data, zerosAfter, sync));
}

/** Who connected to the Unix socket `fd` (its pid, uid and gid when it connected), from the kernel. */
export function peerCredentials(fd: number): PeerCredentials {
  return sync(() => addon.peerCredentials(fd));
}

/** Set extended attribute `name` of the local `file` (a final symlink itself, not its target): a restore into a plain directory. */
export function lsetxattr(file: string, name: string, value: Uint8Array): void {
  sync(() => addon.lsetxattr(file, name, value));
}

/** Create the local special file `file` (fifo, device, socket) with st_mode `mode` and st_rdev `dev`. */
export function mknod(file: string, mode: number, dev: number): void {
  sync(() => addon.mknod(file, mode, dev));
}

/**
 * Set the times of the local `file` (a final symlink itself), or of open file `fd` when
 * >= 0, from epoch milliseconds kept to the microsecond (as the pool keeps them), exactly.
 */
export function utimens(file: string, fd: number, atimeMs: number, mtimeMs: number): void {
  const [as, an] = timespec(atimeMs);
  const [ms, mn] = timespec(mtimeMs);
  sync(() => addon.utimens(file, fd, as, an, ms, mn));
}

function timespec(ms: number): [number, number] {
  let sec = Math.floor(ms / 1000);
  let nsec = Math.round((ms - sec * 1000) * 1000) * 1000;
  if (nsec >= 1e9) {
    sec += 1;
    nsec -= 1e9;
  }
  return [sec, nsec];
}

export const FRAGMENT_HEADER_BYTES = 4096;
