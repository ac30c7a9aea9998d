/**
 * Mounted-filesystem benchmark: the same workload on (a) the plain backing filesystem,
 * (b) a do-nothing fuse-native passthrough with DynamicFS's mount options (the ceiling
 * of the FUSE path), and (c) a DynamicFS mount of a fresh 6-disk pool.
 *
 *   npm run bench:mount -- [--json] [--size BYTES] [--files N] [--dir DIR]
 *
 * Workload per target: sequential write of one file in 1 MiB blocks ending with fsync;
 * a cold read of it (page cache dropped as root, FUSE targets unmounted and mounted
 * again); create, stat and unlink of N empty files. Ratios: dynamicfs/passthrough (targets:
 * write >= 0.6, read >= 0.7) and passthrough/plain. Every mount and temp dir is removed
 * at the end, also on error or Ctrl-C.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs as parseCliArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { DfsMount, createPool, unmountAllUnder } from './lib/dfs-mount';
import { spawnPassthrough, type PassthroughProcess } from './passthrough';
import { alignedBuffer, dropCaches, isRoot, parseSize, seconds, writeBlocks } from './lib/file-io';
import { round } from './lib/timing';

const MiB = 1 << 20;
const BLOCK = MiB;
const DISKS = 6;
const TARGETS = { write: 0.6, read: 0.7 } as const;

interface Args { json: boolean; size: number; files: number; dir: string }

interface Result {
  write_mbps: number;
  read_mbps: number;
  create_ops: number;
  stat_ops: number;
  unlink_ops: number;
  /** (create + stat + unlink) x files / total seconds. */
  meta_ops: number;
}

interface Unavailable { available: false; error: string }

function parseArgs(argv: string[]): Args {
  const { values: o } = parseCliArgs({ args: argv, options: { json: { type: 'boolean' }, size: { type: 'string' }, files: { type: 'string' }, dir: { type: 'string' } } });
  const a: Args = { json: !!o.json, size: o.size ? parseSize(o.size) : 1024 * MiB, files: o.files ? Number(o.files) : 10_000, dir: o.dir ? path.resolve(o.dir) : os.tmpdir() };
  if (!Number.isInteger(a.size) || a.size < BLOCK) throw new Error(`--size must be at least ${BLOCK} bytes`);
  if (!Number.isInteger(a.files) || a.files < 1) throw new Error('--files must be a positive integer');
  return a;
}

function writeFile(file: string, size: number, buf: Buffer): number {
  const start = process.hrtime.bigint();
  writeBlocks(file, size, buf);
  return size / 1e6 / seconds(start);
}

function readFile(file: string, size: number, buf: Buffer): number {
  const start = process.hrtime.bigint();
  const fd = fs.openSync(file, 'r');
  let total = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, BLOCK, null);
      if (n === 0) break;
      total += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  if (total !== size) throw new Error(`read ${total} bytes of ${file}, expected ${size}`);
  return size / 1e6 / seconds(start);
}

function metadata(dir: string, files: number): Pick<Result, 'create_ops' | 'stat_ops' | 'unlink_ops' | 'meta_ops'> {
  fs.mkdirSync(dir);
  const names = Array.from({ length: files }, (_, i) => path.join(dir, `f${i}`));
  const t0 = process.hrtime.bigint();
  for (const p of names) fs.closeSync(fs.openSync(p, 'wx'));
  const c = seconds(t0);
  const t1 = process.hrtime.bigint();
  for (const p of names) fs.statSync(p);
  const s = seconds(t1);
  const t2 = process.hrtime.bigint();
  for (const p of names) fs.unlinkSync(p);
  const u = seconds(t2);
  fs.rmdirSync(dir);
  return {
    create_ops: round(files / c, 0), stat_ops: round(files / s, 0), unlink_ops: round(files / u, 0),
    meta_ops: round((3 * files) / (c + s + u), 0),
  };
}

/** A target: a directory to work in and a way to make its caches cold. */
interface Target {
  dir(): string;
  /** Make the next read cold: drop caches and, for FUSE, unmount and mount again. */
  cold(): Promise<void>;
}

async function runTarget(t: Target, a: Args, buf: Buffer, log: (s: string) => void, name: string): Promise<Result> {
  const file = path.join(t.dir(), 'bench.bin');
  log(`${name}: write ${a.size / MiB} MiB`);
  const write = writeFile(file, a.size, buf);
  await t.cold();
  log(`${name}: cold read`);
  const read = readFile(path.join(t.dir(), 'bench.bin'), a.size, buf);
  fs.unlinkSync(path.join(t.dir(), 'bench.bin'));
  log(`${name}: metadata x ${a.files}`);
  const meta = metadata(path.join(t.dir(), 'meta'), a.files);
  return { write_mbps: round(write, 1), read_mbps: round(read, 1), ...meta };
}

function ratio(a: number, b: number): number {
  return b > 0 ? round(a / b, 2) : 0;
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  const log = (s: string): void => {
    if (!a.json) process.stderr.write(`  ${s}\n`);
  };
  const root = fs.mkdtempSync(path.join(a.dir, 'dfs-bench-mount-'));
  const cleanups: (() => Promise<void>)[] = [];
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    // Synchronous last-ditch cleanup: lazy-unmount anything under root, remove it.
    for (const m of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const target = m.split(' ')[1];
      if (target && target.startsWith(root + path.sep)) {
        try { execFileSync('umount', ['-l', target]); } catch { /* best effort */ }
      }
    }
    fs.rmSync(root, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const buf = alignedBuffer(BLOCK);
  let cold = isRoot;
  const out: Record<string, unknown> = { size_bytes: a.size, block_bytes: BLOCK, files: a.files, dir: a.dir };
  try {
    // (a) plain
    const plainDir = path.join(root, 'plain');
    fs.mkdirSync(plainDir);
    const plain = await runTarget({ dir: () => plainDir, cold: async () => { cold = dropCaches() && cold; } }, a, buf, log, 'plain');

    // (b) passthrough
    const backing = path.join(root, 'pt-backing');
    const ptMnt = path.join(root, 'pt-mnt');
    fs.mkdirSync(backing);
    fs.mkdirSync(ptMnt);
    let pt: PassthroughProcess | undefined = await spawnPassthrough(backing, ptMnt);
    cleanups.push(async () => { await pt?.stop(); });
    const passthrough = await runTarget({
      dir: () => ptMnt,
      cold: async () => {
        await pt!.stop();
        cold = dropCaches() && cold;
        pt = await spawnPassthrough(backing, ptMnt);
      },
    }, a, buf, log, 'passthrough');
    await pt.stop();
    pt = undefined;

    // (c) dynamicfs
    let dynamicfs: Result | Unavailable | undefined;
    const pool = path.join(root, 'pool');
    const dfsMnt = path.join(root, 'dfs-mnt');
    const mount = new DfsMount(pool, dfsMnt);
    cleanups.push(() => mount.kill());
    try {
      fs.mkdirSync(dfsMnt);
      await createPool(pool, root, DISKS);
      await mount.start();
    } catch (e) {
      await mount.kill();
      dynamicfs = { available: false, error: (e as Error).message.replace(/\s*\n\s*/g, ' ') };
      log(`dynamicfs mount not available: ${dynamicfs.error}`);
    }
    if (!dynamicfs) {
      try {
        dynamicfs = await runTarget({
          dir: () => dfsMnt,
          cold: async () => {
            await mount.stop();
            cold = dropCaches() && cold;
            await mount.start();
          },
        }, a, buf, log, 'dynamicfs');
        await mount.stop();
      } catch (e) {
        await mount.kill();
        dynamicfs = { available: false, error: `benchmark on the mount failed: ${(e as Error).message}` };
        log(`dynamicfs: ${dynamicfs.error}`);
      }
    }

    const ratios: Record<string, unknown> = {
      passthrough_over_plain: {
        write: ratio(passthrough.write_mbps, plain.write_mbps),
        read: ratio(passthrough.read_mbps, plain.read_mbps),
        meta: ratio(passthrough.meta_ops, plain.meta_ops),
      },
    };
    if ('write_mbps' in dynamicfs) {
      const w = ratio(dynamicfs.write_mbps, passthrough.write_mbps);
      const r = ratio(dynamicfs.read_mbps, passthrough.read_mbps);
      ratios.dynamicfs_over_passthrough = {
        write: w, read: r, meta: ratio(dynamicfs.meta_ops, passthrough.meta_ops),
        write_target: TARGETS.write, read_target: TARGETS.read,
        write_ok: w >= TARGETS.write, read_ok: r >= TARGETS.read,
      };
    }
    Object.assign(out, { cold_cache: cold, plain, passthrough, dynamicfs, ratios });
    if (a.json) process.stdout.write(JSON.stringify({ ok: true, ...out }) + '\n');
    else printText(a, cold, plain, passthrough, dynamicfs);
    return 0;
  } catch (e) {
    if (interrupted) return 130;
    if (a.json) process.stdout.write(JSON.stringify({ ok: false, error: { code: 'EBENCH', message: (e as Error).message }, ...out }) + '\n');
    else process.stderr.write(`bench:mount failed: ${(e as Error).stack ?? e}\n`);
    return 1;
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await unmountAllUnder(root); // anything still mounted under root (a bug above) must not outlive the run
    fs.rmSync(root, { recursive: true, force: true });
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function printText(a: Args, cold: boolean, plain: Result, pt: Result, dfs: Result | Unavailable): void {
  const rows: [string, Result | Unavailable][] = [['plain', plain], ['passthrough', pt], ['dynamicfs', dfs]];
  const lines: string[] = [];
  lines.push(`Mounted filesystem benchmark: ${a.size / MiB} MiB file in ${BLOCK / MiB} MiB blocks, ${a.files} files, under ${a.dir}`);
  if (!cold) lines.push('  (not root: page cache not dropped, reads are not cold)');
  lines.push('');
  lines.push(`  ${'target'.padEnd(12)} ${'write MB/s'.padStart(11)} ${'read MB/s'.padStart(10)} ${'create/s'.padStart(9)} ${'stat/s'.padStart(9)} ${'unlink/s'.padStart(9)} ${'meta ops/s'.padStart(11)}`);
  for (const [name, r] of rows) {
    if (!('write_mbps' in r)) {
      lines.push(`  ${name.padEnd(12)} ${r.error.startsWith('benchmark on') ? r.error : `dynamicfs mount not available: ${r.error}`}`);
      continue;
    }
    lines.push(`  ${name.padEnd(12)} ${String(r.write_mbps).padStart(11)} ${String(r.read_mbps).padStart(10)} ${String(r.create_ops).padStart(9)} ${String(r.stat_ops).padStart(9)} ${String(r.unlink_ops).padStart(9)} ${String(r.meta_ops).padStart(11)}`);
  }
  lines.push('');
  lines.push(`  passthrough / plain:    write ${ratio(pt.write_mbps, plain.write_mbps)}x  read ${ratio(pt.read_mbps, plain.read_mbps)}x  meta ${ratio(pt.meta_ops, plain.meta_ops)}x`);
  if ('write_mbps' in dfs) {
    const w = ratio(dfs.write_mbps, pt.write_mbps);
    const r = ratio(dfs.read_mbps, pt.read_mbps);
    const mark = (x: number, t: number): string => (x >= t ? `[ok >= ${t}]` : `[BELOW target ${t}]`);
    lines.push(`  dynamicfs / passthrough: write ${w}x ${mark(w, TARGETS.write)}  read ${r}x ${mark(r, TARGETS.read)}  meta ${ratio(dfs.meta_ops, pt.meta_ops)}x`);
  } else {
    lines.push(`  dynamicfs / passthrough: n/a (targets: write >= ${TARGETS.write}x, read >= ${TARGETS.read}x)`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main().then((code) => { process.exitCode = code; }, (e: Error) => {
  process.stderr.write(`bench:mount: ${e.message}\n`);
  process.exitCode = 2;
});
