/**
 * Snapshot benchmark: do snapshot operations cost what the change costs, not what the
 * tree holds?
 *
 *   npm run bench:snapshot -- [--json] [--files 1000,100000] [--snapshots 1000] [--changes 100] [--dir DIR]
 *
 * For each size, a fresh offline pool (3 directory disks, mirror:2) gets that many small
 * files (16 bytes each, inline in their metadata records, 100 to a directory), written
 * straight into the metadata store in large transactions (the files are the setting,
 * not what is measured). Then, in-process through the admin operations
 * (admin/ops/snapshot.ts) on the opened Engine, so CLI start-up is not in the figures:
 * 1. create: `snapshot-create` 5 times (median), and fs/snapshots.ts createSnapshot alone
 *    (the op adds the new snapshot's usage figures);
 * 2. diff: `snapshot-diff` from a snapshot to the live tree after rewriting --changes
 *    files (median of 3; the changes found are checked);
 * 3. delete: `snapshot-delete` (its purge job run to the end) of a snapshot sharing
 *    everything with the live tree, and of the snapshot holding the rewritten files' old
 *    versions;
 * 4. list: `snapshot-list` with --snapshots snapshots (made by createSnapshot, a file
 *    rewritten between every 10th), median of 3, and the store's two reads behind it
 *    (snapshotUsage, spaceByOwner) timed alone;
 * 5. one `dynamicfs snapshot create` timed from outside (process start included), for
 *    reference.
 * Ratios compare the largest size with the smallest (1.0: independent of the tree).
 * Everything is removed at the end, also on error or Ctrl-C.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs as parseCliArgs } from 'node:util';
import { snapshotCreate, snapshotDelete, snapshotDiff, snapshotList } from '../src/admin/ops/snapshot';
import type { OpContext } from '../src/admin/context';
import type { Engine } from '../src/engine/engine';
import { inlineExtent } from '../src/engine/extent-writer';
import { openEngine } from '../src/engine/open';
import { prepareFile } from '../src/fs/dir-ops';
import { createSnapshot } from '../src/fs/snapshots';
import { median, round } from './lib/timing';

const REPO = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO, 'bin', 'dynamicfs.js');
const PER_DIR = 100;
const BATCH = 5000;
const CREATE_SAMPLES = 5;
const READ_SAMPLES = 3;

interface Args { json: boolean; files: number[]; snapshots: number; changes: number; dir: string }

function parseArgs(argv: string[]): Args {
  const { values: o } = parseCliArgs({ args: argv, options: { json: { type: 'boolean' }, files: { type: 'string' }, snapshots: { type: 'string' },
    changes: { type: 'string' }, dir: { type: 'string' } } });
  const a: Args = { json: !!o.json, files: (o.files ?? '1000,100000').split(',').map(Number), snapshots: o.snapshots ? Number(o.snapshots) : 1000,
    changes: o.changes ? Number(o.changes) : 100, dir: o.dir ? path.resolve(o.dir) : os.tmpdir() };
  if (a.files.length === 0 || a.files.some((n) => !Number.isInteger(n) || n < 10)) throw new Error('--files takes sizes of 10 or more, comma-separated');
  if (!Number.isInteger(a.snapshots) || a.snapshots < 10) throw new Error('--snapshots must be at least 10');
  if (!Number.isInteger(a.changes) || a.changes < 1 || a.changes > Math.min(...a.files)) throw new Error('--changes must be from 1 to the smallest size');
  return a;
}

const cli = (args: string[]): string => execFileSync(process.execPath, [CLI, ...args], { cwd: REPO, encoding: 'utf8', timeout: 600_000 });

const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: ms(t), value };
}

const fileName = (i: number): string => `/d${Math.floor(i / PER_DIR)}/f${i}`;

/** `count` files (or rewrites of files `ids`) of 16 bytes each, inline, `BATCH` to a transaction. */
function writeFiles(engine: Engine, ids: number[], tag: string): void {
  const meta = engine.meta;
  for (let at = 0; at < ids.length; at += BATCH) {
    meta.transact((tx) => {
      const now = Date.now();
      for (const i of ids.slice(at, at + BATCH)) {
        const bytes = Buffer.from(`${tag}:${String(i).padStart(10, '0')}`.slice(-16).padStart(16, '.'));
        const f = prepareFile(tx, meta, fileName(i), { parents: true, now });
        tx.putInode({ ...f.inode, size: bytes.length });
        tx.putExtent(inlineExtent(f.inode.ino, 0, bytes));
      }
    });
  }
}

/** `n` of the `files` spread evenly over the tree. */
const spread = (files: number, n: number, shift = 0): number[] => Array.from({ length: n }, (_, k) => (Math.floor((k * files) / n) + shift) % files);

interface SizeResult {
  files: number;
  populate_s: number;
  meta_db_mb: number;
  create_op_ms: number;
  create_op_samples_ms: number[];
  create_core_ms: number;
  diff_ms: number;
  diff_changes: number;
  delete_shared_ms: number;
  delete_changed_ms: number;
  list_snapshots: number;
  list_ms: number;
  list_usage_ms: number;
  list_space_ms: number;
  make_snapshots_s: number;
  cli_create_ms: number;
}

async function benchSize(root: string, files: number, a: Args, log: (s: string) => void): Promise<SizeResult> {
  const pool = path.join(root, `pool-${files}`);
  cli(['init', pool, '--redundancy', 'mirror:2']);
  for (let d = 0; d < 3; d++) {
    const dir = path.join(root, `disk-${files}-${d}`);
    fs.mkdirSync(dir);
    cli(['add-disk', pool, dir]);
  }
  const ctx: OpContext = {};
  const engine = openEngine(pool);
  const out = { files } as SizeResult;
  try {
    log(`${files} files: writing them into the store`);
    let t = process.hrtime.bigint();
    writeFiles(engine, Array.from({ length: files }, (_, i) => i), 'v1');
    out.populate_s = round(ms(t) / 1000, 1);

    log(`${files} files: snapshot create x${CREATE_SAMPLES}`);
    const ops: number[] = [];
    for (let s = 0; s < CREATE_SAMPLES; s++) ops.push((await timed(() => snapshotCreate(engine, { name: `c${s}` }, ctx))).ms);
    out.create_op_samples_ms = ops.map((x) => round(x, 1));
    out.create_op_ms = round(median(ops), 1);
    const core: number[] = [];
    for (let s = 0; s < CREATE_SAMPLES; s++) core.push((await timed(() => createSnapshot(engine, `k${s}`))).ms);
    out.create_core_ms = round(median(core), 1);

    log(`${files} files: snapshot diff after rewriting ${a.changes}`);
    await createSnapshot(engine, 'before');
    writeFiles(engine, spread(files, a.changes), 'v2');
    const diffs: number[] = [];
    let found = 0;
    for (let s = 0; s < READ_SAMPLES; s++) {
      const r = await timed(() => snapshotDiff(engine, { from: 'before' }, ctx));
      diffs.push(r.ms);
      found = r.value.changes.filter((c) => c.change === 'modified').length;
    }
    if (found !== a.changes) throw new Error(`snapshot diff found ${found} files modified, not ${a.changes}`);
    out.diff_ms = round(median(diffs), 1);
    out.diff_changes = found;

    log(`${files} files: snapshot delete`);
    await createSnapshot(engine, 'shared');
    out.delete_shared_ms = round((await timed(() => snapshotDelete(engine, { name: 'shared', wait: true }, ctx))).ms, 1);
    out.delete_changed_ms = round((await timed(() => snapshotDelete(engine, { name: 'before', wait: true }, ctx))).ms, 1);

    log(`${files} files: ${a.snapshots} snapshots, then snapshot list`);
    t = process.hrtime.bigint();
    for (let s = engine.meta.snapshots().length, k = 0; s < a.snapshots; s++, k++) {
      if (k % 10 === 0) writeFiles(engine, spread(files, 1, k), `s${k}`);
      await createSnapshot(engine, `s${String(s).padStart(5, '0')}`);
    }
    out.make_snapshots_s = round(ms(t) / 1000, 1);
    const lists: number[] = [];
    for (let s = 0; s < READ_SAMPLES; s++) {
      const r = await timed(() => snapshotList(engine, {}, ctx));
      lists.push(r.ms);
      out.list_snapshots = r.value.snapshots.length;
    }
    out.list_ms = round(median(lists), 1);
    // Where list's time goes: the store's usage figures of every snapshot, and its space by owner.
    out.list_usage_ms = round((await timed(async () => engine.meta.snapshotUsage())).ms, 1);
    out.list_space_ms = round((await timed(async () => engine.meta.spaceByOwner())).ms, 1);
  } finally {
    await engine.close();
  }
  out.meta_db_mb = round(fs.statSync(path.join(pool, 'meta.db')).size / 1e6, 1);
  log(`${files} files: one snapshot create through the CLI`);
  const t = process.hrtime.bigint();
  cli(['snapshot', 'create', pool, 'cli', '--json']);
  out.cli_create_ms = round(ms(t), 0);
  return out;
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  const log = (s: string): void => {
    if (!a.json) process.stderr.write(`  ${s}\n`);
  };
  const root = fs.mkdtempSync(path.join(a.dir, 'dfs-bench-snapshot-'));
  const onSignal = (): void => {
    fs.rmSync(root, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const out: Record<string, unknown> = { files: a.files, snapshots: a.snapshots, changes: a.changes, dir: a.dir, policy: 'mirror:2', disks: 3 };
  const started = process.hrtime.bigint();
  try {
    const sizes: SizeResult[] = [];
    for (const n of [...a.files].sort((x, y) => x - y)) sizes.push(await benchSize(root, n, a, log));
    const small = sizes[0]!;
    const large = sizes[sizes.length - 1]!;
    const ratio = (k: keyof SizeResult): number => round((large[k] as number) / Math.max(small[k] as number, 0.001), 2);
    const ratios = { files: round(large.files / small.files, 0), create_op: ratio('create_op_ms'), create_core: ratio('create_core_ms'), diff: ratio('diff_ms'),
      delete_shared: ratio('delete_shared_ms'), list: ratio('list_ms'), cli_create: ratio('cli_create_ms') };
    Object.assign(out, { sizes, ratios, seconds: round(ms(started) / 1000, 1) });
    if (a.json) process.stdout.write(JSON.stringify({ ok: true, ...out }) + '\n');
    else printText(a, sizes, ratios);
    return 0;
  } catch (e) {
    if (a.json) process.stdout.write(JSON.stringify({ ok: false, error: { code: 'EBENCH', message: (e as Error).message }, ...out }) + '\n');
    else process.stderr.write(`bench:snapshot failed: ${(e as Error).stack ?? e}\n`);
    return 1;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function printText(a: Args, sizes: SizeResult[], ratios: Record<string, number>): void {
  const rows: [string, (s: SizeResult) => string | number, string][] = [
    ['snapshot create (op), ms', (s) => s.create_op_ms, String(ratios.create_op)],
    ['  createSnapshot alone, ms', (s) => s.create_core_ms, String(ratios.create_core)],
    [`snapshot diff, ${a.changes} files changed, ms`, (s) => s.diff_ms, String(ratios.diff)],
    ['snapshot delete, all shared, ms', (s) => s.delete_shared_ms, String(ratios.delete_shared)],
    [`snapshot delete, ${a.changes} old versions, ms`, (s) => s.delete_changed_ms, ''],
    [`snapshot list, ${a.snapshots} snapshots, ms`, (s) => s.list_ms, String(ratios.list)],
    ['  of which the store\'s snapshotUsage(), ms', (s) => s.list_usage_ms, ''],
    ['  of which the store\'s spaceByOwner(), ms', (s) => s.list_space_ms, ''],
    ['snapshot create via the CLI, ms', (s) => s.cli_create_ms, String(ratios.cli_create)],
    ['(files written in, s)', (s) => s.populate_s, ''],
    [`(${a.snapshots} snapshots made in, s)`, (s) => s.make_snapshots_s, ''],
    ['(meta.db, MB)', (s) => s.meta_db_mb, ''],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  const lines = [`Snapshot benchmark: offline pools of ${sizes.map((s) => s.files).join(' and ')} inline files (mirror:2, 3 disks); under ${a.dir}`, '',
    `  ${''.padEnd(w)} ${sizes.map((s) => `${s.files} files`.padStart(14)).join(' ')} ${'ratio'.padStart(8)}`];
  for (const [label, f, r] of rows) lines.push(`  ${label.padEnd(w)} ${sizes.map((s) => String(f(s)).padStart(14)).join(' ')} ${r.padStart(8)}`);
  lines.push('', `  ratio: the largest size over the smallest (${ratios.files}x the files); 1.0 means independent of the tree`);
  process.stdout.write(lines.join('\n') + '\n');
}

main().then((code) => { process.exitCode = code; }, (e: Error) => {
  process.stderr.write(`bench:snapshot: ${e.message}\n`);
  process.exitCode = 1;
});
