/**
 * A disk, as the engine sees it: a store of fragments. LocalDisk keeps them in a
 * directory (format 1 layout, docs/FORMAT.md). The interface is narrow on purpose:
 * an object store can be one later, and tests wrap it to inject faults.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diskSync, fragRead, fragRelativePath, fragWrite, type FragmentHeaderInput, type FragmentWriteResult } from '../native';

export interface StoredFragment {
  extentId: Buffer;
  index: number;
  path: string;
  mtimeMs: number;
  bytes: number;
}

export interface FragmentStore {
  readonly id: number;
  readonly root: string;
  /** Write a fragment; with sync false it is durable only after sync() (a transaction group's batch). */
  write(header: FragmentHeaderInput, payload: Uint8Array, sync?: boolean): Promise<FragmentWriteResult>;
  /** Make every fragment written without sync durable, directory entries included. */
  sync(): Promise<void>;
  /** Read and verify; expectedHash is the metadata's BLAKE3 of the payload. */
  read(extentId: Buffer, index: number, expectedHash: Buffer): Promise<Buffer>;
  remove(extentId: Buffer, index: number): Promise<void>;
  /** Whether the fragment's file exists (no read, no verify: the mount scan's question). */
  has(extentId: Buffer, index: number): Promise<boolean>;
  /** Every fragment file on the disk. */
  list(): AsyncGenerator<StoredFragment>;
  /** In-flight files under DISK/tmp (orphans when old). */
  listTmp(): Promise<{ path: string; mtimeMs: number; bytes: number }[]>;
  space(): Promise<{ capacityBytes: number; freeBytes: number }>;
  /** Whether the disk's directory is there and labelled (a vanished disk is not). */
  present(): boolean;
}

const FRAG_NAME = /^([0-9a-f]{32})\.(\d+)$/;

export class LocalDisk implements FragmentStore {
  constructor(readonly id: number, readonly root: string) {}

  write(header: FragmentHeaderInput, payload: Uint8Array, sync = true): Promise<FragmentWriteResult> {
    return fragWrite(this.root, header, payload, sync);
  }

  sync(): Promise<void> {
    return diskSync(this.root);
  }

  async read(extentId: Buffer, index: number, expectedHash: Buffer): Promise<Buffer> {
    const r = await fragRead(path.join(this.root, fragRelativePath(extentId, index)), expectedHash);
    return r.payload;
  }

  async remove(extentId: Buffer, index: number): Promise<void> {
    await fs.promises.rm(path.join(this.root, fragRelativePath(extentId, index)), { force: true });
  }

  async has(extentId: Buffer, index: number): Promise<boolean> {
    try {
      await fs.promises.access(path.join(this.root, fragRelativePath(extentId, index)));
      return true;
    } catch {
      return false;
    }
  }

  async *list(): AsyncGenerator<StoredFragment> {
    const top = path.join(this.root, 'frags');
    for (const a of await readdirOrEmpty(top)) {
      for (const b of await readdirOrEmpty(path.join(top, a))) {
        const dir = path.join(top, a, b);
        for (const name of await readdirOrEmpty(dir)) {
          const m = FRAG_NAME.exec(name);
          if (!m) continue;
          const file = path.join(dir, name);
          const st = await fs.promises.stat(file).catch(() => undefined);
          if (st) yield { extentId: Buffer.from(m[1]!, 'hex'), index: Number(m[2]), path: file, mtimeMs: st.mtimeMs, bytes: st.size };
        }
      }
    }
  }

  async listTmp(): Promise<{ path: string; mtimeMs: number; bytes: number }[]> {
    const dir = path.join(this.root, 'tmp');
    const out = [];
    for (const name of await readdirOrEmpty(dir)) {
      const st = await fs.promises.stat(path.join(dir, name)).catch(() => undefined);
      if (st?.isFile()) out.push({ path: path.join(dir, name), mtimeMs: st.mtimeMs, bytes: st.size });
    }
    return out;
  }

  async space(): Promise<{ capacityBytes: number; freeBytes: number }> {
    try {
      const s = await fs.promises.statfs(this.root);
      return { capacityBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
    } catch {
      return { capacityBytes: 0, freeBytes: 0 };
    }
  }

  present(): boolean {
    return fs.existsSync(path.join(this.root, 'dynamicfs.label'));
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch {
    return [];
  }
}
