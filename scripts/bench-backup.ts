/**
 * Backup benchmark: a repository backup against tar, same tree, same target disk, same run.
 *
 *   npm run bench:backup -- [--json] [--size 1G] [--files 10000] [--changes 10] [--rounds 3] [--dir DIR] [--keep] [--reuse ROOT]
 *
 * A mixed tree of --size bytes in DIR: --files small files (1 to 48 KiB, 24.5 KiB on
 * average, 100 to a directory; at most a quarter of the size) and 4 large files for the
 * rest, random bytes (nothing compresses or repeats). It is copied into a fresh pool (6
 * directory disks, rs:4+2) through a mount (`cp -a`), so small files are packed as a
 * mounted pool packs them; the pool is then unmounted. Then --rounds rounds, each into a
 * fresh target directory, each timed step after a `sync` (so none pays for the writeback
 * of the one before):
 * 1. `tar -cf` of the source tree into the target, then the archive's fsync; the full
 *    backup: the `backup-create` admin op on the opened pool into a new repository in the
 *    target (in this process, so CLI start-up is not in the figure; snapshot, walk, reads,
 *    packs, fsyncs, manifest all are: its packs and manifest are durable when it returns).
 * 2. --changes of the small files rewritten in the pool (new random bytes), then an
 *    incremental backup, against the full's time.
 * 3. Restore of the full backup into an empty directory (backup/restore-dir.ts, every
 *    object's BLAKE3 checked before it is written, syncfs at the end) against `tar -xf` of
 *    the archive, and `tar -xf` followed by a syncfs of the target; then every restored
 *    file is compared with tar's (outside the timing).
 * Figures are the rounds' medians (each round's in `each`). Everything is removed at the
 * end (unless --keep), also on error or Ctrl-C. --reuse ROOT takes the tree and pool a
 * --keep run left in ROOT (its path is printed) instead of making them again, and keeps them.
 */
// The thread pool the CLI's process has (bin/dynamicfs.js): the backup runs in this process.
process.env.UV_THREADPOOL_SIZE ??= '16';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseArgs as parseCliArgs } from 'node:util';
import { backupCreate, type BackupCreateData } from '../src/admin/ops/backup-create';
import { ADMIN_JOB_KINDS } from '../src/admin/job-kinds';
import { restoreToDir } from '../src/backup/restore-dir';
import { openEngine } from '../src/engine/open';
import { putFile } from '../src/fs/files';
import { streamSource } from '../src/fs/sources';
import { blake3 } from '../src/native';
import { createPool, DfsMount } from './lib/dfs-mount';

interface Args { json: boolean; size: number; files: number; changes: number; dir: string; keep: boolean; rounds: number; reuse?: string }

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)$/i.exec(text);
  if (!m) throw new Error(`--size ${text}: give bytes such as 1G or 200M`);
  return Math.round(Number(m[1]) * ({ '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase()] ?? 1));
}

function parseArgs(argv: string[]): Args {
  const { values: o } = parseCliArgs({ args: argv, options: { json: { type: 'boolean' }, size: { type: 'string' }, files: { type: 'string' },
    changes: { type: 'string' }, dir: { type: 'string' }, keep: { type: 'boolean' }, rounds: { type: 'string' }, reuse: { type: 'string' } } });
  const a: Args = { json: !!o.json, size: parseSize(o.size ?? '1G'), files: Number(o.files ?? 10000), changes: Number(o.changes ?? 10),
    dir: path.resolve(o.dir ?? os.tmpdir()), keep: !!o.keep || o.reuse !== undefined, rounds: Number(o.rounds ?? 3), reuse: o.reuse && path.resolve(o.reuse) };
  if (!Number.isInteger(a.rounds) || a.rounds < 1) throw new Error('--rounds must be 1 or more');
  if (!Number.isInteger(a.files) || a.files < 10) throw new Error('--files must be 10 or more');
  if (!Number.isInteger(a.changes) || a.changes < 1 || a.changes > a.files) throw new Error('--changes must be from 1 to --files');
  if (a.size < 16 * 1024 * 1024) throw new Error('--size must be 16M or more');
  return a;
}

const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: ms(t), value };
}

const small = (i: number): string => `s/d${String(Math.floor(i / 100)).padStart(4, '0')}/f${String(i).padStart(6, '0')}`;

/** The source tree: small files first (up to a quarter of the size), 4 large files for the rest. Returns its bytes. */
function makeTree(src: string, a: Args): number {
  let bytes = 0;
  // Sizes spread evenly around an average of 24.5 KiB, less when a quarter of --size cannot hold that many.
  const avg = Math.min(24.5 * 1024, a.size / 4 / a.files);
  for (let i = 0; i < a.files; i++) {
    const f = path.join(src, small(i));
    if (i % 100 === 0) fs.mkdirSync(path.dirname(f), { recursive: true });
    const n = Math.max(1, Math.round(avg * (0.04 + Math.random() * 1.92)));
    fs.writeFileSync(f, randomBytes(n));
    bytes += n;
  }
  fs.mkdirSync(path.join(src, 'large'));
  const each = Math.floor((a.size - bytes) / 4);
  const chunk = 8 * 1024 * 1024;
  for (let k = 0; k < 4; k++) {
    const fd = fs.openSync(path.join(src, 'large', `big${k}`), 'w');
    for (let done = 0; done < each; done += chunk) fs.writeSync(fd, randomBytes(Math.min(chunk, each - done)));
    fs.closeSync(fd);
    bytes += each;
  }
  return bytes;
}

/** The bytes of the files under `dir`. */
function treeBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n += fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size;
  return n;
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Every file under `a` has the bytes of the same path under `b`; returns the files compared. */
function compareTrees(a: string, b: string): number {
  let n = 0;
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(a, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else {
        if (!blake3(fs.readFileSync(path.join(a, r))).equals(blake3(fs.readFileSync(path.join(b, r))))) throw new Error(`${r} differs after the restore`);
        n++;
      }
    }
  };
  walk('');
  return n;
}

interface Round {
  tarMs: number;
  tarFsyncMs: number;
  fullMs: number;
  fullNew: number;
  incMs: number;
  incNew: number;
  restoreMs: number;
  tarXMs: number;
  tarXSyncMs: number;
  verified: number;
}

/** Everything written so far on its way to the disk: each timed step starts from a clean page cache's writeback. */
const settle = (): void => { execFileSync('sync'); };

/**
 * One round into a fresh target: tar -cf (then its fsync), a full backup into a new
 * repository, a.changes small files rewritten and an incremental, the full restored into
 * an empty directory, tar -xf (then a syncfs); the restore compared with the source.
 */
async function round(a: Args, at: { src: string; target: string; pool: string }, log: (s: string) => void): Promise<Round> {
  const { src, target, pool } = at;
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target);
  const tarFile = path.join(target, 'tree.tar');
  settle();
  const tar = await timed(() => execFileSync('tar', ['-cf', tarFile, '-C', src, '.']));
  const tarSync = await timed(() => fsyncFile(tarFile));
  const repo = path.join(target, 'repo');
  const engine = openEngine(pool, undefined, undefined, ADMIN_JOB_KINDS);
  let full: { ms: number; value: BackupCreateData };
  let inc: { ms: number; value: BackupCreateData };
  try {
    settle();
    full = await timed(() => backupCreate(engine, { repo, type: 'full' }, {}));
    log(`full backup ${(full.ms / 1000).toFixed(2)} s, tar -cf ${(tar.ms / 1000).toFixed(2)} s (+ fsync ${(tarSync.ms / 1000).toFixed(2)} s)`);
    for (let k = 0; k < a.changes; k++) {
      const i = Math.floor((k * a.files) / a.changes);
      const size = fs.statSync(path.join(src, small(i))).size;
      const bytes = randomBytes(size);
      await putFile(engine, `/${small(i)}`, streamSource(Readable.from([bytes])));
      fs.writeFileSync(path.join(src, small(i)), bytes);
    }
    settle();
    inc = await timed(() => backupCreate(engine, { repo, type: 'incremental' }, {}));
    if (inc.value.backup.note) throw new Error(`the incremental walked the whole tree: ${inc.value.backup.note}`);
    log(`incremental after ${a.changes} changed files ${(inc.ms / 1000).toFixed(3)} s`);
  } finally {
    await engine.close();
  }
  const restored = path.join(target, 'restore');
  settle();
  const rs = await timed(() => restoreToDir(repo, full.value.backup.id, restored));
  const untar = path.join(target, 'untar');
  fs.mkdirSync(untar);
  settle();
  const tx = await timed(() => execFileSync('tar', ['-xf', tarFile, '-C', untar]));
  const txSync = await timed(() => execFileSync('sync', ['-f', untar]));
  log(`restore ${(rs.ms / 1000).toFixed(2)} s, tar -xf ${(tx.ms / 1000).toFixed(2)} s (+ syncfs ${(txSync.ms / 1000).toFixed(2)} s)`);
  // The full backup was taken before the changes: compare with the tar of the same moment.
  const verified = compareTrees(untar, restored);
  if (verified !== a.files + 4) throw new Error(`restored ${verified} files, expected ${a.files + 4}`);
  return { tarMs: tar.ms, tarFsyncMs: tarSync.ms, fullMs: full.ms, fullNew: full.value.backup.newBytes, incMs: inc.ms, incNew: inc.value.backup.newBytes,
    restoreMs: rs.ms, tarXMs: tx.ms, tarXSyncMs: txSync.ms, verified };
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const MiBs = (bytes: number, t: number): number => Math.round((bytes / 1024 / 1024 / (t / 1000)) * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const root = a.reuse ?? fs.mkdtempSync(path.join(a.dir, 'dfs-bench-backup-'));
  const cleanup = (): void => {
    if (!a.keep) fs.rmSync(root, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const log = (s: string): void => {
    if (!a.json) process.stderr.write(`${s}\n`);
  };
  try {
    const src = path.join(root, 'src');
    const target = path.join(root, 'target');
    const pool = path.join(root, 'pool');
    let bytes: number;
    if (a.reuse) {
      if (!fs.existsSync(src) || !fs.existsSync(pool)) throw new Error(`--reuse ${root}: no src/ and pool/ there (give the directory a --keep run printed)`);
      bytes = treeBytes(src);
      log(`reusing ${root}: ${(bytes / 1024 / 1024).toFixed(0)} MiB`);
    } else {
      fs.mkdirSync(target);
      bytes = makeTree(src, a);
      log(`tree: ${a.files} small files and 4 large, ${(bytes / 1024 / 1024).toFixed(0)} MiB in ${root}`);
      await createPool(pool, root, 6);
      const mnt = path.join(root, 'mnt');
      fs.mkdirSync(mnt);
      const m = new DfsMount(pool, mnt);
      await m.start();
      try {
        execFileSync('cp', ['-a', `${src}/.`, mnt]);
      } finally {
        await m.stop();
      }
      log('copied into the pool through its mount');
    }

    const rounds: Round[] = [];
    for (let n = 0; n < a.rounds; n++) {
      rounds.push(await round(a, { src, target, pool }, log));
      log(`round ${n + 1}: ${JSON.stringify(rounds[n])}`);
    }
    const med = (f: (r: Round) => number): number => median(rounds.map(f));
    const full = med((r) => r.fullMs), tar = med((r) => r.tarMs), tarFsync = med((r) => r.tarMs + r.tarFsyncMs), inc = med((r) => r.incMs);
    const rs = med((r) => r.restoreMs), tx = med((r) => r.tarXMs), txSync = med((r) => r.tarXMs + r.tarXSyncMs);
    const result = {
      tree: { bytes, files: a.files + 4, smallFiles: a.files, largeFiles: 4 },
      rounds: a.rounds,
      full: { backupMs: Math.round(full), backupMiBs: MiBs(bytes, full), newBytes: rounds[0]!.fullNew, tarMs: Math.round(tar), tarMiBs: MiBs(bytes, tar),
        tarFsyncMs: Math.round(tarFsync), ratioToTar: r2(tar / full), ratioToTarFsync: r2(tarFsync / full) },
      incremental: { changedFiles: a.changes, backupMs: Math.round(inc), newBytes: rounds[0]!.incNew, fractionOfFull: Math.round((inc / full) * 10000) / 10000 },
      restore: { restoreMs: Math.round(rs), restoreMiBs: MiBs(bytes, rs), tarXMs: Math.round(tx), tarXSyncMs: Math.round(txSync),
        ratioToTar: r2(tx / rs), ratioToTarSync: r2(txSync / rs), filesVerified: rounds[0]!.verified },
      targets: { fullAtLeast: 0.8, incrementalBelow: 0.05, restoreAtLeast: 0.8 },
      each: rounds.map((r) => ({ fullMs: Math.round(r.fullMs), tarMs: Math.round(r.tarMs), tarFsyncMs: Math.round(r.tarFsyncMs), incMs: Math.round(r.incMs),
        restoreMs: Math.round(r.restoreMs), tarXMs: Math.round(r.tarXMs), tarXSyncMs: Math.round(r.tarXSyncMs) })),
    };
    if (a.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      process.stdout.write([
        `full backup   ${result.full.backupMs} ms (${result.full.backupMiBs} MiB/s); tar -cf ${result.full.tarMs} ms, with fsync ${result.full.tarFsyncMs} ms: ${result.full.ratioToTar}x / ${result.full.ratioToTarFsync}x tar's rate`,
        `incremental   ${result.incremental.backupMs} ms after ${a.changes} changed files: ${(result.incremental.fractionOfFull * 100).toFixed(2)}% of the full`,
        `restore       ${result.restore.restoreMs} ms (${result.restore.restoreMiBs} MiB/s); tar -xf ${result.restore.tarXMs} ms, with syncfs ${result.restore.tarXSyncMs} ms: ${result.restore.ratioToTar}x / ${result.restore.ratioToTarSync}x tar's rate`,
      ].join('\n') + '\n');
    }
  } finally {
    cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`bench:backup failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
