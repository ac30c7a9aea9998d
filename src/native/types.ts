/**
 * The declared surface of dynamicfs_native.node. scripts/check-native-exports.ts
 * verifies the loaded addon exports exactly these names, so this file cannot drift.
 */

export interface FragmentHeaderInput {
  poolUuid: Uint8Array; // 16 bytes
  extentId: Uint8Array; // 16 bytes
  index: number;
  k: number;
  m: number;
  scheme: 0 | 1; // 0 Reed-Solomon, 1 mirror
  payloadHash: Uint8Array; // 32 bytes, BLAKE3 of the payload
}

export interface FragmentHeader extends FragmentHeaderInput {
  payloadLength: number;
}

export interface FragmentWriteResult {
  direct: boolean;
  fileBytes: number;
  path: string;
}

export interface Blake3HasherOptions {
  key?: Uint8Array;
  context?: string;
}

export interface Blake3HasherInstance {
  update(data: Uint8Array): this;
  digest(outLen?: number, seek?: number): Buffer;
  reset(): this;
}

/** The process at the other end of a Unix socket, as the kernel says (SO_PEERCRED). */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

export interface NativeAddon {
  rsEncode(k: number, m: number, data: Uint8Array[], parity: Uint8Array[]): void;
  rsReconstruct(k: number, m: number, shards: (Uint8Array | null)[], targets: number[]): void;
  rsReconstructAsync(k: number, m: number, shards: (Uint8Array | null)[], targets: number[]): Promise<void>;
  rsIsa(): string;
  blake3(data: Uint8Array, outLen?: number): Buffer;
  blake3Into(data: Uint8Array, out: Uint8Array, offset?: number): void;
  blake3Keyed(key: Uint8Array, data: Uint8Array, outLen?: number): Buffer;
  blake3DeriveKey(context: string, material: Uint8Array, outLen?: number): Buffer;
  blake3Async(data: Uint8Array): Promise<Buffer>;
  blake3Isa(): string;
  Blake3Hasher: new (options?: Blake3HasherOptions) => Blake3HasherInstance;
  fragWrite(diskRoot: string, header: FragmentHeaderInput, payload: Uint8Array, sync?: boolean): Promise<FragmentWriteResult>;
  diskSync(diskRoot: string): Promise<void>;
  fragRead(path: string, expectedHash?: Uint8Array): Promise<{ header: FragmentHeader; payload: Buffer }>;
  fragCopyTo(path: string, expectedHash: Uint8Array, extentId: Uint8Array, index: number, fd: number, offset: number, length: number): Promise<number>;
  fragReadHeader(path: string): Promise<FragmentHeader>;
  fragRelativePath(extentId: Uint8Array, index: number): string;
  fragDirectDisabled(diskRoot: string): boolean;
  fragHeaderBytes: number;
  lockAcquire(path: string): number;
  lockRelease(fd: number): void;
  logWriteAt(fd: number, path: string, offset: number, data: Uint8Array, zerosAfter: number, sync: boolean): Promise<number>;
  peerCredentials(fd: number): PeerCredentials;
  lsetxattr(path: string, name: string, value: Uint8Array): void;
  mknod(path: string, mode: number, dev: number): void;
  utimens(path: string, fd: number, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): void;
  formatVersion: number;
}

/** Names every export must have; used by the export check. */
export const NATIVE_EXPORTS: readonly (keyof NativeAddon)[] = [
  'rsEncode', 'rsReconstruct', 'rsReconstructAsync', 'rsIsa',
  'blake3', 'blake3Into', 'blake3Keyed', 'blake3DeriveKey', 'blake3Async', 'blake3Isa', 'Blake3Hasher',
  'fragWrite', 'diskSync', 'fragRead', 'fragCopyTo', 'fragReadHeader', 'fragRelativePath', 'fragDirectDisabled',
  'fragHeaderBytes', 'lockAcquire', 'lockRelease', 'logWriteAt', 'peerCredentials', 'lsetxattr', 'mknod', 'utimens', 'formatVersion',
];
