/**
 * A disk's metadata area, DISK/meta/ (docs/FORMAT.md "Metadata area"): reading it whole
 * (head, log records that verify), verifying its checkpoint, writing a new checkpoint
 * beside the old and switching the head to it, and appending a record to the log.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blake3 } from '../native';
import { writeFileDurable } from './durable-file';
import { decodeRecords, encodeRecord, HEAD_FORMAT, openHead, sealHead, type AreaHead, type HeadSuperblock, type LogRecord } from './meta-format';

export const areaDir = (disk: string): string => path.join(disk, 'meta');
export const headPath = (disk: string): string => path.join(areaDir(disk), 'head');

/** What a disk's area holds, verified: its head, and the log's records while they verify and follow on. */
export interface Area {
  root: string;
  head: AreaHead;
  records: LogRecord[];
  /** Bytes of the log that verify (appends go here; anything after is a torn tail). */
  logEnd: number;
  /** The newest generation the area holds whole. */
  newest: number;
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
  let log: Buffer;
  try {
    log = fs.readFileSync(path.join(areaDir(root), head.log));
  } catch {
    log = Buffer.alloc(0);
  }
  const { records, end } = decodeRecords(log, head.poolUuid, head.checkpoint.generation + 1);
  return { root, head, records, logEnd: end, newest: records.at(-1)?.generation ?? head.checkpoint.generation };
}

/** The area's checkpoint bytes, or undefined when the file is missing or fails its length or BLAKE3. */
export function readCheckpoint(area: Area): Buffer | undefined {
  let data: Buffer;
  try {
    data = fs.readFileSync(path.join(areaDir(area.root), area.head.checkpoint.file));
  } catch {
    return undefined;
  }
  const c = area.head.checkpoint;
  if (data.length !== c.length || blake3(data).toString('hex') !== c.blake3) return undefined;
  return data;
}

export interface Checkpoint {
  generation: number;
  data: Buffer;
  blake3: string;
}

export function sealCheckpoint(generation: number, data: Buffer): Checkpoint {
  return { generation, data, blake3: blake3(data).toString('hex') };
}

/**
 * Write checkpoint `c` and an empty log beside what the area holds, switch the head to
 * them (durably), then drop the old files. A crash anywhere leaves the old head or the new.
 */
export function writeCheckpoint(root: string, poolUuid: string, diskUuid: string, sb: HeadSuperblock, c: Checkpoint, nowMs: number): AreaHead {
  const dir = areaDir(root);
  fs.mkdirSync(dir, { recursive: true });
  const file = `ckpt-${c.generation}.db`;
  const log = `log-${c.generation}.log`;
  writeFileDurable(path.join(dir, file), c.data);
  fs.closeSync(fs.openSync(path.join(dir, log), 'w'));
  const head: AreaHead = { format: HEAD_FORMAT, poolUuid, diskUuid, superblock: sb, log,
    checkpoint: { generation: c.generation, file, length: c.data.length, blake3: c.blake3, writtenMs: nowMs } };
  // The head's rename and directory fsync also make the new, empty log's name durable.
  writeFileDurable(headPath(root), sealHead(head));
  for (const name of fs.readdirSync(dir)) {
    if (name !== 'head' && name !== file && name !== log) fs.rmSync(path.join(dir, name), { force: true });
  }
  return head;
}

/** Open the area's log for appends at `end`, cutting off any torn tail; returns the fd. */
export function openLog(root: string, head: AreaHead, end: number): number {
  const fd = fs.openSync(path.join(areaDir(root), head.log), 'r+');
  try {
    fs.ftruncateSync(fd, end);
    return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

/** Append generation `generation`'s record at `at` and fdatasync; returns its length. */
export function appendSync(fd: number, at: number, poolUuid: string, generation: number, payload: Buffer): number {
  const rec = encodeRecord(poolUuid, generation, payload);
  fs.writeSync(fd, rec, 0, rec.length, at);
  fs.fdatasyncSync(fd);
  return rec.length;
}

/** Zeros a coordinator's log is grown by ahead of its records (a reader stops at them, as at a torn tail). */
export const LOG_GROW_BYTES = 1024 * 1024;
const ZEROS = Buffer.alloc(LOG_GROW_BYTES);

/**
 * The same, off the main thread (a coordinator's group commit writes every disk at once).
 * Bytes up to `allocated` are already in the file (zeros, synced): a record within them
 * changes no file size, so its fdatasync flushes the data alone, not the filesystem's
 * journal too. Past them, LOG_GROW_BYTES of zeros follow the record into the same sync.
 * Returns the bytes now allocated.
 */
export async function appendAsync(fd: number, at: number, record: Buffer, allocated: number): Promise<number> {
  const write = (buf: Buffer, pos: number) => new Promise<void>((resolve, reject) => fs.write(fd, buf, 0, buf.length, pos, (err) => (err ? reject(err) : resolve())));
  const end = at + record.length;
  await write(record, at);
  if (end > allocated) await write(ZEROS, end);
  await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  return end > allocated ? end + ZEROS.length : allocated;
}
