/**
 * A FragmentStore in a local directory (format 1 layout, docs/FORMAT.md): fragments under
 * frags/ab/cd/<extent>.<index>, in-flight files under tmp/, the label in dynamicfs.label.
 * Paths exist only here.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError, fromOsCode } from '../errors';
import { diskSync, fragCopyTo, fragRead, fragRelativePath, fragWrite, logWriteAt, type FragmentHeaderInput } from '../native';
import type { CopyTarget, DiskSpace, FragmentStore, StoredFragment, TmpEntry } from './fragment-store';
import { readLabel, type DiskLabel } from './label';

const FRAG_NAME = /^([0-9a-f]{32})\.(\d+)$/;
/** The intent log: records of fsyncs since the last committed group (docs/FORMAT.md). */
const LOG_NAME = 'intent.log';

/** Whether the disk at `root` has an intent log file (a format-1 pool's sign that its code used one). */
export function hasIntentLog(root: string): boolean {
  return fs.existsSync(path.join(root, LOG_NAME));
}
/**
 * Zeros an intent log grows by ahead of its records: an append within them changes no
 * file size, so its fdatasync flushes the data alone, not the filesystem's journal too.
 */
const LOG_GROW_BYTES = 1024 * 1024;
/** A log kept allocated over a reset up to this size; past it a reset gives the space back. */
const LOG_KEEP_BYTES = 8 * 1024 * 1024;

export class LocalDisk implements FragmentStore {
  /** The intent log, open for appends since the first (closed by close(), or after a failed append). */
  private logHandle: Promise<fs.promises.FileHandle> | undefined;
  /** Where the next record goes (undefined: not known yet, the file's end at the first append). */
  private logAt: number | undefined;
  /** Bytes the log file holds (records, then zeros or obsolete records after them). */
  private logAllocated = 0;
  /** The append in flight through the log's descriptor (settled). */
  private logWriting: Promise<unknown> = Promise.resolve();

  constructor(readonly id: number, private readonly root: string) {}

  async write(header: FragmentHeaderInput, payload: Uint8Array, sync = true): Promise<number> {
    return (await fragWrite(this.root, header, payload, sync)).fileBytes;
  }

  sync(): Promise<void> {
    return diskSync(this.root);
  }

  async read(extentId: Buffer, index: number, expectedHash: Buffer): Promise<Buffer> {
    const { header, payload } = await fragRead(this.file(extentId, index), expectedHash);
    // A fragment file holding another fragment (misplaced, copied over) verifies on its own: refuse it.
    if (header.index !== index || !Buffer.from(header.extentId).equals(extentId)) {
      throw new DfsError('EFORMAT', `fragment ${index} of extent ${extentId.toString('hex')} on disk ${this.id} holds fragment ${header.index} of extent ${Buffer.from(header.extentId).toString('hex')}`);
    }
    return payload;
  }

  copyTo(extentId: Buffer, index: number, expectedHash: Buffer, target: CopyTarget): Promise<number> {
    // The addon checks the header names this extent and index, as read does here.
    return fragCopyTo(this.file(extentId, index), expectedHash, extentId, index, target.fd, target.offset, target.length);
  }

  async remove(extentId: Buffer, index: number): Promise<void> {
    await fs.promises.rm(this.file(extentId, index), { force: true });
  }

  async removeTmp(name: string): Promise<void> {
    if (name.includes('/') || name === '..' || name === '.') throw new DfsError('EINVAL', `"${name}" is not an in-flight entry name`);
    await unlink(path.join(this.root, 'tmp', name));
  }

  async has(extentId: Buffer, index: number): Promise<boolean> {
    try {
      await fs.promises.access(this.file(extentId, index));
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
          const st = await fs.promises.stat(path.join(dir, name)).catch(() => undefined);
          if (st) yield { extentId: Buffer.from(m[1]!, 'hex'), index: Number(m[2]), mtimeMs: st.mtimeMs, bytes: st.size };
        }
      }
    }
  }

  async listTmp(): Promise<TmpEntry[]> {
    const dir = path.join(this.root, 'tmp');
    const out: TmpEntry[] = [];
    for (const name of await readdirOrEmpty(dir)) {
      const st = await fs.promises.stat(path.join(dir, name)).catch(() => undefined);
      if (st?.isFile()) out.push({ name, mtimeMs: st.mtimeMs, bytes: st.size });
    }
    return out;
  }

  async space(): Promise<DiskSpace> {
    const [s, writeError] = await Promise.all([
      fs.promises.statfs(this.root).catch(() => undefined),
      fs.promises.access(this.root, fs.constants.W_OK).then(() => null, (err: NodeJS.ErrnoException) => err.code ?? 'EIO'),
    ]);
    return { capacityBytes: s ? s.blocks * s.bsize : 0, freeBytes: s ? s.bavail * s.bsize : 0, writeError };
  }

  async probe(bytes: number): Promise<number> {
    const dir = path.join(this.root, 'tmp');
    const file = path.join(dir, `probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    const data = randomBytes(bytes);
    try {
      await fs.promises.mkdir(dir, { recursive: true });
      const t0 = process.hrtime.bigint();
      const fh = await fs.promises.open(file, 'w');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      const back = await fs.promises.readFile(file);
      if (!back.equals(data)) throw new DfsError('EIO', `disk ${this.id}: the probe read back other bytes than it wrote`);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    } catch (err) {
      if (err instanceof DfsError) throw err;
      throw fromOsCode((err as NodeJS.ErrnoException).code, `disk ${this.id}: probe failed: ${(err as Error).message}`);
    } finally {
      await fs.promises.rm(file, { force: true }).catch(() => undefined);
    }
  }

  async label(): Promise<DiskLabel | undefined> {
    return readLabel(this.root);
  }

  /**
   * Appends go through one descriptor kept open: an open and a close per fsync cost about
   * a third of an append. The write, the zeros ahead, the fdatasync and an fstat run as
   * one native call (one thread-pool round trip, not three): a log unlinked under us (the
   * disk's directory removed or replaced) took the bytes nowhere, so the append fails.
   */
  async appendLog(bytes: Uint8Array): Promise<void> {
    const file = path.join(this.root, LOG_NAME);
    try {
      // Never create the disk root: an unmounted disk must fail, not fill the root filesystem.
      // Not O_APPEND: records are written at logAt, over zeros or obsolete records after a reset.
      const fh = (this.logHandle ??= fs.promises.open(file, fs.constants.O_RDWR | fs.constants.O_CREAT));
      try {
        const h = await fh;
        if (this.logAt === undefined) {
          // The first append since the log was last emptied by truncation (replay at a coordinator's start does): its end.
          this.logAt = (await h.stat()).size;
          this.logAllocated = this.logAt;
        }
        const end = this.logAt + bytes.length;
        // A reader stops at zeros as at a torn tail; they go into the same sync.
        const write = logWriteAt(h.fd, file, this.logAt, bytes, end > this.logAllocated ? LOG_GROW_BYTES : 0, true);
        this.logWriting = write.catch(() => undefined);
        if ((await write) === 0) throw Object.assign(new Error('the log was unlinked while open'), { code: 'ENOENT' });
        this.logAt = end;
        this.logAllocated = Math.max(this.logAllocated, end + LOG_GROW_BYTES);
      } catch (err) {
        this.closeLog();
        throw err;
      }
    } catch (err) {
      throw fromOsCode((err as NodeJS.ErrnoException).code, `disk ${this.id}: cannot append to the intent log ${file}: ${(err as Error).message}`, file);
    }
  }

  async readLog(): Promise<Buffer> {
    try {
      return await fs.promises.readFile(path.join(this.root, LOG_NAME));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
      throw fromOsCode((err as NodeJS.ErrnoException).code, `disk ${this.id}: cannot read the intent log: ${(err as Error).message}`);
    }
  }

  async resetLog(opts: { keepSpace?: boolean } = {}): Promise<void> {
    if (opts.keepSpace && this.logAt !== undefined && this.logAllocated <= LOG_KEEP_BYTES) {
      // The records left behind name older generations, so replay ignores them; the next append overwrites them.
      this.logAt = 0;
      return;
    }
    // Truncating, not unlinking: no directory change to sync; the next append's fdatasync carries the new size.
    this.logAt = 0;
    this.logAllocated = 0;
    await fs.promises.truncate(path.join(this.root, LOG_NAME), 0).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw fromOsCode(err.code, `disk ${this.id}: cannot reset the intent log: ${err.message}`);
    });
  }

  close(): void {
    this.closeLog();
  }

  private closeLog(): void {
    const fh = this.logHandle;
    const writing = this.logWriting;
    this.logHandle = undefined;
    // The native write uses the bare descriptor: closed (and its number reused) only after it.
    void fh?.then(async (h) => { await writing; await h.close(); }).catch(() => undefined);
  }

  private file(extentId: Uint8Array, index: number): string {
    return path.join(this.root, fragRelativePath(extentId, index));
  }
}

async function unlink(file: string): Promise<void> {
  try {
    await fs.promises.rm(file);
  } catch (err) {
    throw fromOsCode((err as NodeJS.ErrnoException).code, `cannot remove ${file}: ${(err as Error).message}`, file);
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch {
    return [];
  }
}
