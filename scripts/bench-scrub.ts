/**
 * Scrub benchmark: does intensity cap the scrub's I/O rate, and do foreground reads keep
 * priority while a low-intensity scrub runs?
 *
 *   npm run bench:scrub -- [--json] [--size BYTES] [--rounds N] [--seconds S] [--dir DIR]
 *
 * A fresh 6-disk pool (rs:4+2, 4 MiB extents) is mounted and one file of --size bytes
 * written through the mount. Then, through the coordinator's admin socket:
 * 1. Rate: a background scrub at each intensity (low, medium, high) runs for --seconds;
 *    its progress (bytes read) is sampled every 250 ms. "steady" is the rate after the
 *    first 2 s (the limiter allows a one-second burst at the start); "overall" includes
 *    the burst. high is unlimited: it shows the ceiling the caps sit under.
 * 2. Foreground: sequential 1 MiB reads of the file through the mount, page cache
 *    dropped before each (root), alternating with the low scrub paused (baseline) and
 *    running, --rounds times each; medians and their ratio (target: >= 0.8).
 * Everything is unmounted and removed at the end, also on error or Ctrl-C.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs as parseCliArgs } from 'node:util';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { AdminConnection } from '../src/admin/client';
import type { ScrubDaemonData } from '../src/admin/ops';
import { runFiles } from '../src/rpc/run-files';
import { INTENSITY_RATES, type Intensity } from '../src/engine/scrub-params';
import { isFuseMounted, waitForFuseMount } from '../src/fuse/proc-mounts';
import { forceUnmount } from '../src/fuse/unmount';
import { waitForExit } from './lib/dfs-mount';
import { alignedBuffer, dropCaches, parseSize, seconds, writeBlocks } from './lib/file-io';
import { median, round } from './lib/timing';

const MiB = 1 << 20;
const BLOCK = MiB;
const DISKS = 6;
const TARGET_READ_RATIO = 0.8;
const REPO = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO, 'bin', 'dynamicfs.js');

interface Args { json: boolean; size: number; rounds: number; seconds: number; dir: string }

function parseArgs(argv: string[]): Args {
  const { values: o } = parseCliArgs({ args: argv, options: { json: { type: 'boolean' }, size: { type: 'string' }, rounds: { type: 'string' },
    seconds: { type: 'string' }, dir: { type: 'string' } } });
  const a: Args = { json: !!o.json, size: o.size ? parseSize(o.size) : 2048 * MiB, rounds: o.rounds ? Number(o.rounds) : 3,
    seconds: o.seconds ? Number(o.seconds) : 10, dir: o.dir ? path.resolve(o.dir) : os.tmpdir() };
  if (!Number.isInteger(a.size) || a.size < 64 * MiB) throw new Error('--size must be at least 64M');
  if (!Number.isInteger(a.rounds) || a.rounds < 1) throw new Error('--rounds must be a positive integer');
  if (!(a.seconds >= 3)) throw new Error('--seconds must be at least 3');
  return a;
}





const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Written with a different block each MiB so no extent deduplicates or compresses by accident. */
function writeFile(file: string, size: number, buf: Buffer): void {
  writeBlocks(file, size, buf, true);
}

/** Sequential read in 1 MiB blocks; MB/s. Async so the sampling loop and the event loop stay alive. */
async function readFile(file: string, size: number, buf: Buffer): Promise<number> {
  const start = process.hrtime.bigint();
  const fh = await fs.promises.open(file, 'r');
  let total = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, BLOCK, null);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
  } finally {
    await fh.close();
  }
  if (total !== size) throw new Error(`read ${total} bytes of ${file}, expected ${size}`);
  return size / 1e6 / seconds(start);
}

function cli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`dynamicfs ${args.join(' ')}: ${String(stderr).trim() || String(stdout).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}


interface RateResult {
  intensity: Intensity;
  /** Configured cap in MiB/s (null: unlimited). */
  cap_mibps: number | null;
  /** After the first 2 s (past the one-second burst the limiter allows). */
  steady_mibps: number;
  /** From the start, burst included. */
  overall_mibps: number;
  /** steady / cap (null for high). */
  steady_over_cap: number | null;
  seconds: number;
  bytes: number;
}

class Daemon {
  constructor(private readonly conn: AdminConnection) {}
  call(action: string, extra: Record<string, unknown> = {}): Promise<ScrubDaemonData> {
    return this.conn.call('scrub-daemon', { action, ...extra } as never) as Promise<ScrubDaemonData>;
  }
}

/** Run a background scrub at `intensity` for `secs` seconds, sampling its progress. */
async function measureRate(d: Daemon, intensity: Intensity, secs: number): Promise<RateResult> {
  const started = await d.call('start', { intensity });
  const job = started.active!.job;
  const samples: { t: number; bytes: number }[] = [];
  const t0 = process.hrtime.bigint();
  for (;;) {
    const s = await d.call('status');
    const t = seconds(t0);
    if (!s.active || s.active.job !== job) break; // finished early: the file was too small for this rate
    samples.push({ t, bytes: s.active.bytesRead });
    if (t >= secs) break;
    await sleep(250);
  }
  await d.call('stop');
  const last = samples[samples.length - 1]!;
  const steadyFrom = samples.find((x) => x.t >= 2) ?? samples[0]!;
  const mibps = (bytes: number, dt: number): number => (dt > 0 ? bytes / MiB / dt : 0);
  const cap = INTENSITY_RATES[intensity];
  const steady = mibps(last.bytes - steadyFrom.bytes, last.t - steadyFrom.t);
  return {
    intensity, cap_mibps: cap ? cap / MiB : null, steady_mibps: round(steady, 1), overall_mibps: round(mibps(last.bytes, last.t), 1),
    steady_over_cap: cap ? round(steady / (cap / MiB), 2) : null, seconds: round(last.t, 1), bytes: last.bytes,
  };
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  const log = (s: string): void => {
    if (!a.json) process.stderr.write(`  ${s}\n`);
  };
  const root = fs.mkdtempSync(path.join(a.dir, 'dfs-bench-scrub-'));
  const pool = path.join(root, 'pool');
  const mnt = path.join(root, 'mnt');
  let child: ChildProcess | undefined;
  let conn: AdminConnection | undefined;
  const onSignal = (): void => {
    try { execFileSync('umount', ['-l', mnt]); } catch { /* best effort */ }
    child?.kill('SIGKILL');
    fs.rmSync(root, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const out: Record<string, unknown> = { size_bytes: a.size, rounds: a.rounds, seconds: a.seconds, dir: a.dir, disks: DISKS, policy: 'rs:4+2' };
  try {
    await cli(['init', pool]);
    for (let i = 0; i < DISKS; i++) {
      const d = path.join(root, `disk-${i}`);
      fs.mkdirSync(d);
      await cli(['add-disk', pool, d]);
    }
    fs.mkdirSync(mnt);
    child = spawn(process.execPath, [CLI, 'mount', pool, mnt, '--foreground'], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (x: string) => { stderr += x; });
    await waitForFuseMount(mnt, { child, timeoutMs: 60_000 }).catch((e: Error) => { throw new Error(`${e.message} ${stderr}`); });
    const buf = alignedBuffer(BLOCK);
    const file = path.join(mnt, 'data.bin');
    log(`writing ${a.size / MiB} MiB through the mount`);
    writeFile(file, a.size, buf);
    conn = await AdminConnection.connect(runFiles(pool).socket);
    if (!conn) throw new Error('the coordinator does not answer on its admin socket');
    const d = new Daemon(conn);

    const rates: RateResult[] = [];
    for (const intensity of ['low', 'medium', 'high'] as Intensity[]) {
      log(`scrub rate at intensity ${intensity} (${a.seconds}s)`);
      dropCaches();
      rates.push(await measureRate(d, intensity, a.seconds));
    }

    log(`sequential reads through the mount, ${a.rounds} rounds without and with a low-intensity scrub`);
    const cold = dropCaches();
    const started = await d.call('start', { intensity: 'low' });
    const job = started.active!.job;
    await d.call('pause');
    const baseline: number[] = [];
    const during: number[] = [];
    const scrubbed: number[] = [];
    for (let r = 0; r < a.rounds; r++) {
      dropCaches();
      baseline.push(await readFile(file, a.size, buf));
      await d.call('resume');
      await sleep(1500); // past the limiter's initial burst
      dropCaches();
      const before = (await d.call('status')).active;
      const t0 = process.hrtime.bigint();
      during.push(await readFile(file, a.size, buf));
      const dt = seconds(t0);
      const after = (await d.call('status')).active;
      if (!before || !after || after.job !== job) throw new Error('the low-intensity scrub ended during the reads; use a larger --size');
      scrubbed.push((after.bytesRead - before.bytesRead) / MiB / dt);
      await d.call('pause');
    }
    await d.call('stop');
    const base = median(baseline);
    const with_ = median(during);
    const ratioR = round(with_ / base, 2);
    const foreground = {
      cold_cache: cold,
      baseline_mbps: baseline.map((x) => round(x, 1)), with_scrub_mbps: during.map((x) => round(x, 1)),
      scrub_mibps_during_reads: scrubbed.map((x) => round(x, 1)),
      median_baseline_mbps: round(base, 1), median_with_scrub_mbps: round(with_, 1),
      ratio: ratioR, target: TARGET_READ_RATIO, ok: ratioR >= TARGET_READ_RATIO,
    };
    Object.assign(out, { rates, foreground });
    if (a.json) process.stdout.write(JSON.stringify({ ok: true, ...out }) + '\n');
    else printText(a, rates, foreground);
    return 0;
  } catch (e) {
    if (a.json) process.stdout.write(JSON.stringify({ ok: false, error: { code: 'EBENCH', message: (e as Error).message }, ...out }) + '\n');
    else process.stderr.write(`bench:scrub failed: ${(e as Error).stack ?? e}\n`);
    return 1;
  } finally {
    conn?.close();
    if (child) {
      try {
        if (isFuseMounted(mnt)) await cli(['unmount', mnt]);
        await waitForExit(child, 30_000);
      } catch {
        child.kill('SIGKILL');
        await waitForExit(child, 5_000).catch(() => undefined);
      }
    }
    if (isFuseMounted(mnt)) await forceUnmount(mnt).catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function printText(a: Args, rates: RateResult[], f: { cold_cache: boolean; median_baseline_mbps: number; median_with_scrub_mbps: number;
  ratio: number; baseline_mbps: number[]; with_scrub_mbps: number[]; scrub_mibps_during_reads: number[] }): void {
  const lines = [`Scrub benchmark: ${a.size / MiB} MiB file on a ${DISKS}-disk rs:4+2 pool, mounted; under ${a.dir}`];
  if (!f.cold_cache) lines.push('  (not root: page cache not dropped)');
  lines.push('', `  ${'intensity'.padEnd(10)} ${'cap MiB/s'.padStart(10)} ${'steady'.padStart(8)} ${'overall'.padStart(8)} ${'steady/cap'.padStart(11)}`);
  for (const r of rates) {
    lines.push(`  ${r.intensity.padEnd(10)} ${String(r.cap_mibps ?? 'none').padStart(10)} ${String(r.steady_mibps).padStart(8)} ${String(r.overall_mibps).padStart(8)} ${String(r.steady_over_cap ?? '-').padStart(11)}`);
  }
  lines.push('', `  sequential read through the mount (MB/s): without scrub ${f.baseline_mbps.join(', ')}; with a low scrub ${f.with_scrub_mbps.join(', ')}`,
    `  scrub rate meanwhile (MiB/s): ${f.scrub_mibps_during_reads.join(', ')}`,
    `  median ${f.median_with_scrub_mbps} / ${f.median_baseline_mbps} = ${f.ratio}x ${f.ratio >= TARGET_READ_RATIO ? `[ok >= ${TARGET_READ_RATIO}]` : `[BELOW target ${TARGET_READ_RATIO}]`}`);
  process.stdout.write(lines.join('\n') + '\n');
}

main().then((code) => { process.exitCode = code; }, (e: Error) => {
  process.stderr.write(`bench:scrub: ${e.message}\n`);
  process.exitCode = 2;
});
