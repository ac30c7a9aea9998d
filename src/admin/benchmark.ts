/**
 * `dynamicfs benchmark`: sequential write and read throughput through the engine and
 * small-file operations per second, beside a baseline measured in the same run — a
 * raw sequential write (then fsync) of the same size to the filesystem holding the
 * first disk — so the ratio means something on a noisy machine.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { DfsError } from '../errors';
import type { Engine } from '../engine/engine';
import { getFile, putFile } from '../fs/files';
import type { ByteSource } from '../fs/sources';

export interface BenchmarkOptions {
  fileSize: number;
  operations: number;
  /** Pool directory under which benchmark files live (removed afterwards by the caller). */
  dir: string;
  onPhase?: (phase: string) => void;
  onProgress?: (bytes: number) => void;
}

export interface BenchmarkResult {
  file_size: number;
  operations: number;
  policy: string;
  raw_write_mbps: number;
  write_mbps: number;
  read_mbps: number;
  write_vs_raw: number;
  put_ops_per_sec: number;
  get_ops_per_sec: number;
  small_file_bytes: number;
}

// Allocated on the first benchmark, not at load: ops/ is loaded by every CLI run and the coordinator.
let patternBytes: Buffer | undefined;
function pattern(): Buffer {
  patternBytes ??= randomBytes(16 * 1024 * 1024);
  return patternBytes;
}
const SMALL_FILE = 64 * 1024;

/** A source of `size` bytes cycling through a random pattern (no disk reads skew the figure). */
function patternSource(size: number): ByteSource {
  const bytes = pattern();
  let pos = 0;
  return {
    async read(buf, len) {
      const n = Math.min(len, size - pos);
      for (let off = 0; off < n;) {
        const at = (pos + off) % bytes.length;
        const c = Math.min(n - off, bytes.length - at);
        buf.set(bytes.subarray(at, at + c), off);
        off += c;
      }
      pos += n;
      return n;
    },
  };
}

const nullSink = () => new Writable({ write(_c, _e, cb) { cb(); } });
const mbps = (bytes: number, ns: bigint) => Number(((bytes / 1e6) / (Number(ns) / 1e9)).toFixed(1));

async function rawWrite(dir: string, size: number, onProgress?: (n: number) => void): Promise<number> {
  const file = path.join(dir, `.dynamicfs-bench-raw-${process.pid}`);
  const fh = await fs.promises.open(file, 'w');
  const chunk = pattern().subarray(0, 4 * 1024 * 1024);
  const t0 = process.hrtime.bigint();
  try {
    for (let done = 0; done < size;) {
      const n = Math.min(chunk.length, size - done);
      await fh.write(chunk, 0, n);
      done += n;
      onProgress?.(n);
    }
    await fh.sync();
    return mbps(size, process.hrtime.bigint() - t0);
  } finally {
    await fh.close();
    await fs.promises.rm(file, { force: true });
  }
}

export async function runBenchmark(engine: Engine, opts: BenchmarkOptions): Promise<BenchmarkResult> {
  const first = engine.placement.writable()[0];
  if (!first) throw new DfsError('ENODISKS', 'the pool has no healthy disk to benchmark; add disks with `dynamicfs add-disk`');
  engine.placement.check(engine.pool.policy);

  opts.onPhase?.('raw sequential write (baseline)');
  const raw = await rawWrite(first.path, opts.fileSize, opts.onProgress);

  opts.onPhase?.('engine sequential write');
  const big = `${opts.dir}/sequential`;
  let t0 = process.hrtime.bigint();
  const put = await putFile(engine, big, patternSource(opts.fileSize), { onProgress: opts.onProgress });
  const write = mbps(opts.fileSize, process.hrtime.bigint() - t0);

  opts.onPhase?.('engine sequential read');
  t0 = process.hrtime.bigint();
  await getFile(engine, put.ino, nullSink(), opts.onProgress);
  const read = mbps(opts.fileSize, process.hrtime.bigint() - t0);

  opts.onPhase?.(`${opts.operations} small-file puts and gets`);
  const inos: number[] = [];
  t0 = process.hrtime.bigint();
  for (let i = 0; i < opts.operations; i++) {
    inos.push((await putFile(engine, `${opts.dir}/small-${i}`, patternSource(SMALL_FILE))).ino);
  }
  const putOps = opts.operations / (Number(process.hrtime.bigint() - t0) / 1e9);
  t0 = process.hrtime.bigint();
  for (const ino of inos) await getFile(engine, ino, nullSink());
  const getOps = opts.operations / (Number(process.hrtime.bigint() - t0) / 1e9);

  return { file_size: opts.fileSize, operations: opts.operations, policy: engine.pool.superblock.policy, raw_write_mbps: raw,
    write_mbps: write, read_mbps: read, write_vs_raw: Number((write / raw).toFixed(2)),
    put_ops_per_sec: Number(putOps.toFixed(1)), get_ops_per_sec: Number(getOps.toFixed(1)), small_file_bytes: SMALL_FILE };
}
