/**
 * Tiering benchmark (issue 17): which heat classifier judges extents right, and are
 * repeatedly read files served at the hot tier's speed once promoted?
 *
 *   npm run bench:tier -- [--json] [--seed 17] [--extents 200] [--intervals 480]
 *                         [--files 6] [--file-mib 4] [--passes 5] [--cold-mibps 40] [--cold-latency-ms 4]
 *                         [--hot-dir /dev/shm] [--dir DIR] [--skip-throughput]
 *
 * 1. Classifiers: synthetic traces (scripts/lib/heat-traces.ts: bursty, periodic, scan,
 *    mix; --extents extents over --intervals intervals each, from --seed) with the truth,
 *    hot or cold, of every interval. Both classifiers (engine/heat.ts, as the product
 *    builds them with tier.promoteReads' default of 4) step through each extent's counts;
 *    after each interval their verdict is compared with the truth: accuracy, the share of
 *    truly cold intervals called hot (false promotion rate), of hot ones called cold, the
 *    verdicts turning hot (promotions) and how many of those were in a cold interval, and
 *    the one-off passes (scans) called hot. The better one overall (accuracy, then fewer
 *    false promotions) is the one the measurement recommends for tier.classifier.
 * 2. Throughput: an offline pool, its hot tier two disks on a tmpfs (--hot-dir, mirror:2),
 *    its cold tier three directory disks under --dir (rs:2+1) slowed by a throttling
 *    decorator (scripts/lib/throttled-store.ts: --cold-mibps per disk, --cold-latency-ms per
 *    fragment I/O). --files files of --file-mib MiB go to /data (policy: background cold)
 *    and as many to /ref (performance preset: stays hot). The engine is opened in this
 *    process and driven through the admin operations: /data is demoted by `tier migrate`,
 *    then both sets are read in --passes passes (a pass: each set read whole, verified,
 *    three times over, the sets in turn first; a pass starts a second after the last
 *    ended, so each pass is one access of every extent), then, once the heat interval
 *    those reads fell in has ended, `tier migrate` promotes what the chosen classifier
 *    calls hot, and both sets are read in --passes passes again. Read throughput of /data
 *    before and after promotion is reported against /ref's (hot all along, the median of
 *    all its samples) in the same run.
 * Everything is removed at the end, also on error or Ctrl-C.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { parseArgs as parseCliArgs } from 'node:util';
import type { OpContext } from '../src/admin/context';
import { config } from '../src/admin/ops/config';
import { mkdir } from '../src/admin/ops/mkdir';
import { put } from '../src/admin/ops/put';
import { tierMigrate } from '../src/admin/ops/tier-migrate';
import { tierPolicy } from '../src/admin/ops/tier-policy';
import { tierStatus } from '../src/admin/ops/tier-status';
import type { Engine } from '../src/engine/engine';
import { heatClassifier, type ClassifierName } from '../src/engine/heat';
import { openEngine } from '../src/engine/open';
import { ACCESS_GAP_MS } from '../src/engine/tier-access';
import { getFile } from '../src/fs/files';
import { resolve } from '../src/fs/paths';
import { makeTraces, prng, score, type Score } from './lib/heat-traces';
import { ThrottledStore } from './lib/throttled-store';
import { median, round } from './lib/timing';

const REPO = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO, 'bin', 'dynamicfs.js');
const MiB = 1024 * 1024;
const HOT_READS = 4; // tier.promoteReads' default
/** A pass starts this long after the last ended: reads of an extent closer than ACCESS_GAP_MS are one access. */
const PASS_GAP_MS = ACCESS_GAP_MS + 50;
/** Times a sample reads its set, for samples long enough to time (a read within a second of an extent's last counted one adds no access). */
const REPEAT = 3;

interface Args {
  json: boolean; seed: number; extents: number; intervals: number; files: number; fileMib: number; passes: number;
  coldMibps: number; coldLatencyMs: number; hotDir: string; dir: string; skipThroughput: boolean;
}

function parseArgs(argv: string[]): Args {
  const { values: o } = parseCliArgs({ args: argv, options: { json: { type: 'boolean' }, seed: { type: 'string' }, extents: { type: 'string' },
    intervals: { type: 'string' }, files: { type: 'string' }, 'file-mib': { type: 'string' }, passes: { type: 'string' }, 'cold-mibps': { type: 'string' },
    'cold-latency-ms': { type: 'string' }, 'hot-dir': { type: 'string' }, dir: { type: 'string' }, 'skip-throughput': { type: 'boolean' } } });
  const n = (v: string | undefined, d: number, what: string, min: number): number => {
    const x = v === undefined ? d : Number(v);
    if (!Number.isFinite(x) || x < min) throw new Error(`--${what} takes a number of at least ${min}`);
    return x;
  };
  return { json: !!o.json, seed: n(o.seed, 17, 'seed', 0), extents: n(o.extents, 200, 'extents', 1), intervals: n(o.intervals, 480, 'intervals', 10),
    files: n(o.files, 6, 'files', 1), fileMib: n(o['file-mib'], 4, 'file-mib', 1), passes: n(o.passes, 5, 'passes', HOT_READS),
    coldMibps: n(o['cold-mibps'], 40, 'cold-mibps', 1), coldLatencyMs: n(o['cold-latency-ms'], 4, 'cold-latency-ms', 0),
    hotDir: path.resolve(o['hot-dir'] ?? '/dev/shm'), dir: path.resolve(o.dir ?? os.tmpdir()), skipThroughput: !!o['skip-throughput'] };
}

const cli = (args: string[]): string => execFileSync(process.execPath, [CLI, ...args, '--json'], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ClassifierResult {
  seed: number;
  extents: number;
  intervals: number;
  hotReads: number;
  traces: { name: string; hmm: Score; decayed: Score }[];
  overall: { hmm: Score; decayed: Score };
  better: ClassifierName;
  why: string;
}

function compareClassifiers(a: Args): ClassifierResult {
  const traces = makeTraces(a.seed, a.extents, a.intervals);
  const hmm = heatClassifier('hmm', HOT_READS);
  const decayed = heatClassifier('decayed', HOT_READS);
  const overall = { hmm: score(hmm, traces), decayed: score(decayed, traces) };
  const byAccuracy = overall.hmm.accuracy - overall.decayed.accuracy;
  const better: ClassifierName = byAccuracy > 0 || (byAccuracy === 0 && overall.hmm.falsePromotionRate <= overall.decayed.falsePromotionRate) ? 'hmm' : 'decayed';
  const other = better === 'hmm' ? 'decayed' : 'hmm';
  return {
    seed: a.seed, extents: a.extents, intervals: a.intervals, hotReads: HOT_READS,
    traces: traces.map((t) => ({ name: t.name, hmm: score(hmm, [t]), decayed: score(decayed, [t]) })),
    overall, better,
    why: byAccuracy !== 0 ? `higher overall accuracy (${overall[better].accuracy} against ${overall[other].accuracy})`
      : `equal accuracy, fewer false promotions (${overall[better].falsePromotionRate} against ${overall[other].falsePromotionRate})`,
  };
}

interface PhaseReads {
  /** MB/s of each pass over the set, and their median. */
  passes: number[];
  medianMBps: number;
}

interface ThroughputResult {
  classifier: ClassifierName;
  files: number;
  fileMib: number;
  hotDir: string;
  cold: { mibps: number; latencyMs: number };
  demoted: number;
  promoted: number;
  /** /ref, on the hot tier all along: every pass before and after. */
  hot: PhaseReads;
  before: PhaseReads;
  after: PhaseReads;
  /** /data's median over /ref's, before and after promotion. */
  beforeRatio: number;
  afterRatio: number;
  seconds: number;
}

const nullSink = (): Writable => new Writable({ write: (_chunk, _enc, done) => done() });

/** One sample: every file of the set read whole (verified), one after another, REPEAT times over; MB/s. */
async function readSet(engine: Engine, names: string[], bytes: number): Promise<number> {
  const t = process.hrtime.bigint();
  for (let r = 0; r < REPEAT; r++) {
    for (const name of names) {
      const got = await getFile(engine, resolve(engine.meta, name).ino, nullSink());
      if (got !== bytes) throw new Error(`${name}: read ${got} bytes, expected ${bytes}`);
    }
  }
  return (REPEAT * names.length * bytes) / 1e6 / (Number(process.hrtime.bigint() - t) / 1e9);
}

/**
 * `passes` passes over both sets, a pass starting PASS_GAP_MS after the previous one ended
 * (so each pass is one more access of every extent), the two sets in turn first (the
 * second read of a pass would otherwise pay for the garbage of the first).
 */
async function readPhase(engine: Engine, data: string[], ref: string[], bytes: number, passes: number): Promise<{ data: number[]; ref: number[] }> {
  const out = { data: [] as number[], ref: [] as number[] };
  for (let p = 0; p < passes; p++) {
    if (p > 0) await sleep(PASS_GAP_MS);
    const order: ['data' | 'ref', string[]][] = p % 2 === 0 ? [['data', data], ['ref', ref]] : [['ref', ref], ['data', data]];
    for (const [set, names] of order) out[set].push(round(await readSet(engine, names, bytes), 1));
  }
  return out;
}

async function throughput(a: Args, root: string, hotRoot: string, classifier: ClassifierName, log: (s: string) => void): Promise<ThroughputResult> {
  const started = process.hrtime.bigint();
  const pool = path.join(root, 'pool');
  cli(['init', pool, '--redundancy', 'rs:2+1']);
  const disk = (dir: string, tier: string): void => {
    fs.mkdirSync(dir);
    cli(['add-disk', pool, dir, '--tier', tier]);
  };
  for (let i = 0; i < 2; i++) disk(path.join(hotRoot, `hot${i}`), 'hot');
  for (let i = 0; i < 3; i++) disk(path.join(root, `cold${i}`), 'cold');
  // The heat interval (tier.promoteWindowSeconds): a phase's passes (each well under a second here) all fall in the one its first read opens.
  const interval = Math.ceil((a.passes * (PASS_GAP_MS + 2500) + 4000) / 1000);
  cli(['config', pool, '--set', 'tier.hot.redundancy=mirror:2', 'tier.cold.redundancy=rs:2+1', 'tier.background=cold', 'tier.demoteAfterSeconds=1',
    'tier.promote=true', `tier.promoteReads=${HOT_READS}`, `tier.promoteWindowSeconds=${interval}`, `tier.classifier=${classifier}`, 'tier.migrateRate=0']);
  const src = path.join(root, 'src');
  fs.mkdirSync(src);
  const rnd = prng(a.seed);
  const bytes = a.fileMib * MiB;
  for (let i = 0; i < a.files; i++) {
    const b = Buffer.allocUnsafe(bytes);
    for (let at = 0; at + 4 <= bytes; at += 4) b.writeUInt32LE(Math.floor(rnd() * 2 ** 32), at);
    fs.writeFileSync(path.join(src, `f${i}`), b);
  }

  const engine = openEngine(pool);
  try {
    const coldIds = new Set(engine.pool.disks().filter((d) => d.tier === 'cold').map((d) => d.id));
    engine.pool.decorateStores((s) => (coldIds.has(s.id) ? new ThrottledStore(s, a.coldMibps * MiB, a.coldLatencyMs) : s));
    const ctx: OpContext = {};
    await mkdir(engine, { path: '/ref' }, ctx);
    await tierPolicy(engine, { preset: 'performance', path: '/ref' }, ctx);
    await put(engine, { src, dest: '/data' }, ctx);
    for (let i = 0; i < a.files; i++) await put(engine, { src: path.join(src, `f${i}`), dest: `/ref/f${i}` }, ctx);
    const data = Array.from({ length: a.files }, (_, i) => `/data/f${i}`);
    const ref = Array.from({ length: a.files }, (_, i) => `/ref/f${i}`);

    log('demoting /data to the cold tier');
    await sleep(1100); // past demoteAfter
    const down = await tierMigrate(engine, { wait: true, rateBytesPerSec: 0 }, ctx);
    const demoted = Number(down.job.progress.moved);
    await config(engine, { set: { 'tier.demoteAfterSeconds': 3600 } }, ctx); // reads from here on keep everything un-idle

    log(`reading both sets ${a.passes} times (/data cold)`);
    const phaseStart = Date.now();
    const before = await readPhase(engine, data, ref, bytes, a.passes);
    // Promotion judges whole intervals: wait for the end of the one the first reads opened.
    await sleep(Math.max(0, phaseStart + interval * 1000 + 500 - Date.now()));
    const status = await tierStatus(engine, {}, ctx);
    log(`promoting (${status.tiers.find((t) => t.tier === 'cold')!.hotExtents} cold extents hot by ${classifier})`);
    const up = await tierMigrate(engine, { wait: true, rateBytesPerSec: 0 }, ctx);
    const promoted = Number(up.job.progress.promoted);

    log(`reading both sets ${a.passes} times (/data promoted)`);
    const after = await readPhase(engine, data, ref, bytes, a.passes);
    const phase = (xs: number[]): PhaseReads => ({ passes: xs, medianMBps: round(median(xs), 1) });
    const hot = phase([...before.ref, ...after.ref]);
    return {
      classifier, files: a.files, fileMib: a.fileMib, hotDir: a.hotDir, cold: { mibps: a.coldMibps, latencyMs: a.coldLatencyMs }, demoted, promoted,
      hot, before: phase(before.data), after: phase(after.data),
      beforeRatio: round(median(before.data) / hot.medianMBps, 2), afterRatio: round(median(after.data) / hot.medianMBps, 2),
      seconds: round(Number(process.hrtime.bigint() - started) / 1e9, 1),
    };
  } finally {
    await engine.close();
  }
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  const log = (s: string): void => {
    if (!a.json) process.stderr.write(`  ${s}\n`);
  };
  const root = fs.mkdtempSync(path.join(a.dir, 'dfs-bench-tier-'));
  const hotRoot = fs.mkdtempSync(path.join(a.hotDir, 'dfs-bench-tier-hot-'));
  const cleanup = (): void => {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(hotRoot, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const out: Record<string, unknown> = {};
  const started = process.hrtime.bigint();
  try {
    log('comparing the heat classifiers on synthetic traces');
    const classifiers = compareClassifiers(a);
    out.classifiers = classifiers;
    if (!a.skipThroughput) out.throughput = await throughput(a, root, hotRoot, classifiers.better, log);
    out.seconds = round(Number(process.hrtime.bigint() - started) / 1e9, 1);
    if (a.json) process.stdout.write(JSON.stringify({ ok: true, ...out }) + '\n');
    else printText(classifiers, out.throughput as ThroughputResult | undefined);
    return 0;
  } catch (e) {
    if (a.json) process.stdout.write(JSON.stringify({ ok: false, error: { code: 'EBENCH', message: (e as Error).message }, ...out }) + '\n');
    else process.stderr.write(`bench:tier failed: ${(e as Error).stack ?? e}\n`);
    return 1;
  } finally {
    cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function printText(c: ClassifierResult, t: ThroughputResult | undefined): void {
  const lines = [`Heat classifiers: ${c.extents} extents x ${c.intervals} intervals per trace, seed ${c.seed}, hotReads ${c.hotReads}`, ''];
  const head = ['trace', 'classifier', 'accuracy', 'false promo rate', 'missed hot rate', 'promotions', 'false promos', 'scans called hot'];
  const rows = [...c.traces, { name: 'overall', ...c.overall }].flatMap((r) => (['hmm', 'decayed'] as const).map((k) => {
    const s = r[k];
    return [r.name, k, s.accuracy.toFixed(4), s.falsePromotionRate.toFixed(4), s.missedHotRate.toFixed(4), String(s.promotions), String(s.falsePromotions), `${s.passesCalledHot}/${s.passes}`];
  }));
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  lines.push(`  ${head.map((h, i) => h.padEnd(w[i]!)).join('  ')}`);
  for (const r of rows) lines.push(`  ${r.map((x, i) => (i < 2 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ')}`);
  lines.push('', `  better: ${c.better} (${c.why})`);
  if (t) {
    lines.push('', `Reads of ${t.files} files of ${t.fileMib} MiB: hot tier on ${t.hotDir} (mirror:2), cold tier throttled to ${t.cold.mibps} MiB/s + ${t.cold.latencyMs} ms per fragment I/O per disk (rs:2+1); classifier ${t.classifier}`,
      `  /ref, hot all along:        ${t.hot.medianMBps} MB/s (median of ${t.hot.passes.length} passes)`,
      `  /data before promotion:     ${t.before.medianMBps} MB/s  (${t.beforeRatio}x the hot tier's)  [${t.demoted} extents demoted]`,
      `  /data after promotion:      ${t.after.medianMBps} MB/s  (${t.afterRatio}x the hot tier's)  [${t.promoted} extents promoted]`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main().then((code) => { process.exitCode = code; }, (e: Error) => {
  process.stderr.write(`bench:tier: ${e.message}\n`);
  process.exitCode = 1;
});
