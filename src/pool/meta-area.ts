/**
 * A disk's metadata area, DISK/meta/ (docs/FORMAT.md "Metadata area"): reading it whole
 * (head, log records that verify), verifying its checkpoint, writing a new checkpoint
 * beside the old and switching the head to it, and appending a record to the log.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crashPoint } from '../log/fault-points';
import { blake3, logWriteAt } from '../native';
import { writeFileDurable } from './durable-file';
import { decodeRecords, HEAD_FORMAT, openHead, sealHead, type AreaHead, type HeadSuperblock, type LogRecord } from './meta-format';

export const areaDir = (disk: string): string => path.join(disk, 'meta');
export const headPath = (disk: string): string => path.join(areaDir(disk), 'head');

/** What a disk's area holds, verified: its head, and the log's records while they verify and follow on. */
export interface Area {
  root: string;
  head: AreaHead;
  records: LogRecord[];
  /** Bytes of the log that verify (appends go here; anything after is a torn tail). */
  logEnd: number;
  /** The log file's length without the zeros a coordinator writes ahead (appendAsync), -1 when it is missing. */
  logLength: number;
  /** The newest generation the area holds whole. */
  newest: number;
  /** The hash chain's value at `newest` (the seal of its record, or the head's checkpoint chain). */
  seal: Buffer;
}

/** The area of disk `root`, or undefined when it has none, a damaged head, or one of another pool (when `poolUuid` is given). */
export function readArea(root: string, poolUuid?: string): Area | undefined {
  let head: AreaHead;
  try {
    head = openHead(fs.readFileSync(headPath(root), 'utf8'), headPath(root));
  } catch {
    return undefined;
  }
  if (poolUuid !== undefined && head.poolUuid !== poolUuid) return undefined;
  return areaOf(root, head);
}

/** The area a verified head names: its log's records while they verify and follow on. */
export function areaOf(root: string, head: AreaHead): Area {
  let log: Buffer | undefined;
  try {
    log = fs.readFileSync(path.join(areaDir(root), head.log));
  } catch {
    log = undefined;
  }
  const anchor = Buffer.from(head.checkpoint.chain, 'hex');
  const { records, end } = decodeRecords(log ?? Buffer.alloc(0), head.poolUuid, head.checkpoint.generation + 1, anchor);
  let length = log?.length ?? -1;
  while (length > end && log![length - 1] === 0) length--;
  return { root, head, records, logEnd: end, logLength: length, newest: records.at(-1)?.generation ?? head.checkpoint.generation,
    seal: records.at(-1)?.seal ?? anchor };
}

/** The area's checkpoint bytes, or why they cannot be trusted (missing, or failing the head's length or BLAKE3). */
export function verifyCheckpoint(area: Area): { data: Buffer } | { fault: string } {
  const c = area.head.checkpoint;
  let data: Buffer;
  try {
    data = fs.readFileSync(path.join(areaDir(area.root), c.file));
  } catch (err) {
    return { fault: `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  if (data.length !== c.length) return { fault: `is ${data.length} bytes, the head says ${c.length}` };
  if (blake3(data).toString('hex') !== c.blake3) return { fault: 'fails its BLAKE3 (its bytes changed since it was written)' };
  return { data };
}

/** The area's checkpoint bytes, or undefined when they do not verify. */
export function readCheckpoint(area: Area): Buffer | undefined {
  const v = verifyCheckpoint(area);
  return 'data' in v ? v.data : undefined;
}

export interface Checkpoint {
  generation: number;
  data: Buffer;
  blake3: string;
  /** The hash chain's value at `generation`: the records after it chain on from it. */
  chain: Buffer;
}

export function sealCheckpoint(generation: number, data: Buffer, chain: Buffer, hash: Buffer = blake3(data)): Checkpoint {
  return { generation, data, blake3: hash.toString('hex'), chain };
}

/** A new checkpoint's file name: unique, so that two checkpoints of one generation never write one file. */
export function checkpointName(generation: number): string {
  return `ckpt-${generation}-${randomBytes(4).toString('hex')}.db`;
}

/**
 * Write checkpoint `c` as `file` in the disk's area, in two halves with a crash point
 * between them (the crash tests leave a half-written one). It is not live until a head
 * names it (switchHead, whose directory fsync also makes its name durable).
 */
export function putCheckpointSync(root: string, file: string, c: Checkpoint): void {
  fs.mkdirSync(areaDir(root), { recursive: true });
  const fd = fs.openSync(path.join(areaDir(root), file), 'w', 0o644);
  try {
    const half = c.data.length >> 1;
    fs.writeSync(fd, c.data, 0, half, 0);
    fs.fdatasyncSync(fd);
    crashPoint('meta-checkpoint-half-written');
    fs.writeSync(fd, c.data, half, c.data.length - half, half);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The same off the main thread (a coordinator's background checkpoint). */
export async function putCheckpointAsync(root: string, file: string, c: Checkpoint): Promise<void> {
  await fs.promises.mkdir(areaDir(root), { recursive: true });
  const fh = await fs.promises.open(path.join(areaDir(root), file), 'w', 0o644);
  try {
    const half = c.data.length >> 1;
    await fh.write(c.data, 0, half, 0);
    await fh.datasync();
    crashPoint('meta-checkpoint-half-written');
    await fh.write(c.data, half, c.data.length - half, half);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Make checkpoint `c`, written as `file`, the area's: a new log holding `records` (the
 * generations after the checkpoint's, already committed), then the head switched to both
 * (durably), then every file the head does not name removed. A crash anywhere leaves the
 * old head or the new. Returns the head and the new log's length.
 */
export function switchHead(root: string, id: { poolUuid: string; diskUuid: string; sb: HeadSuperblock }, c: Checkpoint, file: string,
  records: readonly Buffer[], nowMs: number): { head: AreaHead; logBytes: number } {
  const log = file.replace(/^ckpt-/, 'log-').replace(/\.db$/, '.log');
  const bytes = Buffer.concat(records);
  const fd = fs.openSync(path.join(areaDir(root), log), 'w', 0o644);
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const head: AreaHead = { format: HEAD_FORMAT, poolUuid: id.poolUuid, diskUuid: id.diskUuid, superblock: id.sb, log,
    checkpoint: { generation: c.generation, file, length: c.data.length, blake3: c.blake3, chain: c.chain.toString('hex'), writtenMs: nowMs } };
  // The head's rename and directory fsync also make the new checkpoint's and log's names durable.
  writeFileDurable(headPath(root), sealHead(head));
  dropStrays(root, head);
  return { head, logBytes: bytes.length };
}

/** Remove from the area what its head does not name (the files of the checkpoint before, one a crash left half-written); their names. */
export function dropStrays(root: string, head: AreaHead): string[] {
  const dir = areaDir(root);
  const strays = fs.readdirSync(dir).filter((name) => name !== 'head' && name !== head.checkpoint.file && name !== head.log);
  for (const name of strays) fs.rmSync(path.join(dir, name), { force: true });
  return strays;
}

/**
 * Cut the area's log at `end` (a torn tail goes) and return its path. Appends open the
 * file each time: no descriptor stays open on a disk, so a failing disk can still be
 * remounted read-only or unmounted by its operator (one open per append costs little
 * next to its fdatasync).
 */
export function openLog(root: string, head: AreaHead, end: number): string {
  const file = path.join(areaDir(root), head.log);
  fs.truncateSync(file, end);
  return file;
}

/** Append a record (meta-format.ts encodeRecord) at `at` and fdatasync. */
export function appendSync(file: string, at: number, record: Buffer): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, record, 0, record.length, at);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Zeros a coordinator's log is grown by ahead of its records (a reader stops at them, as at a torn tail). */
export const LOG_GROW_BYTES = 1024 * 1024;

/**
 * The same, off the main thread (a coordinator's group commit writes every disk at once).
 * Bytes up to `allocated` are already in the file (zeros, synced): a record within them
 * changes no file size, so its fdatasync flushes the data alone, not the filesystem's
 * journal too. Past them, LOG_GROW_BYTES of zeros follow the record into the same sync.
 * Returns the bytes now allocated. sync false: written, not yet durable (syncFile later).
 */
export async function appendAsync(file: string, at: number, record: Buffer, allocated: number, sync = true): Promise<number> {
  const end = at + record.length;
  // Open, write, zeros, fdatasync and close in one thread-pool call: a group commit waits for it on m+1 disks.
  await logWriteAt(-1, file, at, record, end > allocated ? LOG_GROW_BYTES : 0, sync);
  return end > allocated ? end + LOG_GROW_BYTES : allocated;
}

/** fdatasync a log written with appendAsync(..., sync false). */
export async function syncFile(file: string): Promise<void> {
  const fh = await fs.promises.open(file, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

export function syncFileSync(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
