/**
 * The steps of the workload benchmark (scripts/bench-workload.ts): third-party programs
 * (tar, git, make, SQLite) doing the work people mount a filesystem for. Each step runs
 * in a directory of one target and returns the seconds of its timed part; what it
 * generates first (sources to compile) is not timed. Every step checks its outcome, so a
 * broken run fails instead of timing nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { MetaResult, SqliteResult } from './workload-child';
import { seconds } from './file-io';

/** The sizes of one run (full or --quick). */
export interface Sizes {
  /** Tree archived once and extracted on each target: `tar -C / -cf ... <tree>`. */
  tree: string;
  gitFiles: number;
  sqliteRows: number;
  sqliteTransactions: number;
  sqliteAutocommits: number;
  cFiles: number;
  metaFiles: number;
}

export const FULL: Sizes = {
  tree: 'usr/include', gitFiles: 300, sqliteRows: 10_000, sqliteTransactions: 10, sqliteAutocommits: 200, cFiles: 40, metaFiles: 10_000,
};
export const QUICK: Sizes = {
  tree: 'usr/include/linux', gitFiles: 30, sqliteRows: 1_000, sqliteTransactions: 10, sqliteAutocommits: 20, cFiles: 8, metaFiles: 1_000,
};

export interface StepContext {
  sizes: Sizes;
  /** The tarball of sizes.tree, on the plain disk. */
  tarball: string;
  /** Which round of --rounds this is (0 first): a step that leaves files names them by it. */
  round: number;
}

export interface StepResult {
  seconds: number;
  /** Operations per second, for the metadata loop. */
  opsPerSec?: number;
}

export interface Step {
  id: string;
  label(s: Sizes, tree: { entries: number; bytes: number }): string;
  run(dir: string, ctx: StepContext): Promise<StepResult>;
}

/** Commands under way, so a signal handler can end them. */
export const running = new Set<ChildProcess>();

const CHILD = path.join(__dirname, 'workload-child.js');

/** Run a command to completion; rejects naming it, with the end of its stderr, on failure. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { err = (err + d).slice(-2000); });
    child.once('error', (e) => { running.delete(child); reject(e); });
    child.once('close', (code, signal) => {
      running.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} ${signal ? `killed by ${signal}` : `exited ${code}`}: ${err.trim() || out.trim().slice(-500)}`));
    });
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return seconds(start);
}

async function child<T>(args: string[]): Promise<T> {
  return JSON.parse(await run(process.execPath, [CHILD, ...args])) as T;
}

// ---------------------------------------------------------------------------------------
// Generated inputs (deterministic: the same bytes on every target and every run)
// ---------------------------------------------------------------------------------------

/** Round `round` of git's file set: round 0 writes every file, 1 every 3rd plus new ones, 2 every 5th. */
function writeGitRound(repo: string, files: number, round: number): void {
  const total = round === 0 ? files : files + Math.ceil(files / 10);
  for (let i = 0; i < total; i++) {
    const fresh = i >= files && round === 1;
    if (round !== 0 && !fresh && i % (round === 1 ? 3 : 5) !== 0) continue;
    const dir = path.join(repo, `pkg${i % 10}`);
    fs.mkdirSync(dir, { recursive: true });
    const lines = Array.from({ length: 20 + (i % 50) }, (_, j) => `// file ${i} line ${j} round ${round}: ${(i * 2654435761 + j * 40503) >>> 0}`);
    fs.writeFileSync(path.join(dir, `file${i}.ts`), lines.join('\n') + '\n');
  }
}

/** cFiles units and a main that calls them all, with a Makefile building `prog`. */
function writeCSources(dir: string, cFiles: number): void {
  fs.mkdirSync(dir);
  const decls = Array.from({ length: cFiles }, (_, k) => `unsigned unit_${k}(unsigned seed);`);
  fs.writeFileSync(path.join(dir, 'common.h'), `#ifndef COMMON_H\n#define COMMON_H\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n${decls.join('\n')}\n#endif\n`);
  for (let k = 0; k < cFiles; k++) {
    const fns = Array.from({ length: 24 }, (_, f) => `static unsigned f${f}(unsigned x) {\n  char buf[64];\n  snprintf(buf, sizeof buf, "%u-%d", x, ${f});\n  for (int i = 0; i < ${8 + f}; i++) x = (x ^ (unsigned)strlen(buf)) * ${2654435761 % (1000 + k * 7 + f)}u + ${f};\n  return x;\n}`);
    const calls = Array.from({ length: 24 }, (_, f) => `  seed = f${f}(seed);`);
    fs.writeFileSync(path.join(dir, `unit${k}.c`), `#include "common.h"\n${fns.join('\n')}\nunsigned unit_${k}(unsigned seed) {\n${calls.join('\n')}\n  return seed;\n}\n`);
  }
  const main = `#include "common.h"\nint main(void) {\n  unsigned s = 1;\n${decls.map((_, k) => `  s += unit_${k}(s);`).join('\n')}\n  printf("units ${cFiles} sum %u\\n", s);\n  return 0;\n}\n`;
  fs.writeFileSync(path.join(dir, 'main.c'), main);
  fs.writeFileSync(path.join(dir, 'Makefile'), [
    'CFLAGS = -O2 -Wall',
    'OBJS = $(patsubst %.c,%.o,$(wildcard *.c))',
    'prog: $(OBJS)',
    '\t$(CC) -o $@ $^',
    '%.o: %.c common.h',
    '\t$(CC) $(CFLAGS) -c -o $@ $<',
    '',
  ].join('\n'));
}

const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'bench@example.invalid', GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
  GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'bench@example.invalid', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
};

// ---------------------------------------------------------------------------------------
// The steps, in order (the tar steps share the extracted tree)
// ---------------------------------------------------------------------------------------

const sqliteStep = (id: string, journal: 'delete' | 'wal', name: string): Step => ({
  id,
  label: (s) => `sqlite, ${name}, synchronous=FULL: ${s.sqliteRows} inserts in ${s.sqliteTransactions} txns + ${s.sqliteAutocommits} autocommits`,
  async run(dir, { sizes: s, round: n }) {
    const r = await child<SqliteResult>(['sqlite', path.join(dir, `${id}-${n}.db`), journal, String(s.sqliteRows), String(s.sqliteTransactions), String(s.sqliteAutocommits)]);
    return { seconds: r.seconds };
  },
});

export const STEPS: Step[] = [
  {
    id: 'tar_extract',
    label: (s, t) => `extract a tarball of /${s.tree} (${t.entries} entries, ${Math.round(t.bytes / 2 ** 20)} MiB)`,
    async run(dir, { tarball }) {
      fs.mkdirSync(path.join(dir, 'tree'));
      return { seconds: await timed(() => run('tar', ['-C', path.join(dir, 'tree'), '-xf', tarball])) };
    },
  },
  {
    id: 'tar_compare',
    label: () => '`tar --compare` of the extracted tree',
    async run(dir, { tarball }) {
      return { seconds: await timed(() => run('tar', ['-C', path.join(dir, 'tree'), '--compare', '-f', tarball])) };
    },
  },
  {
    id: 'rm_tree',
    label: () => '`rm -rf` of it',
    async run(dir) {
      return { seconds: await timed(() => run('rm', ['-rf', path.join(dir, 'tree')])) };
    },
  },
  {
    id: 'git',
    label: (s) => `git: init, ${s.gitFiles} files, 3 commits, gc, fsck, local clone`,
    async run(dir, { sizes: s }) {
      const repo = path.join(dir, 'git', 'repo');
      const git = (cwd: string, ...args: string[]): Promise<string> => run('git', args, { cwd, env: GIT_ENV });
      let commits = '';
      const t = await timed(async () => {
        fs.mkdirSync(repo, { recursive: true });
        await git(repo, 'init', '-q', '-b', 'main');
        for (let round = 0; round < 3; round++) {
          writeGitRound(repo, s.gitFiles, round);
          await git(repo, 'add', '-A');
          await git(repo, 'commit', '-q', '-m', `round ${round}`);
        }
        await git(repo, 'gc', '-q');
        await git(repo, 'fsck', '--no-progress');
        await git(path.dirname(repo), 'clone', '-q', 'repo', 'clone');
        commits = (await git(path.join(dir, 'git', 'clone'), 'rev-list', '--count', 'HEAD')).trim();
      });
      if (commits !== '3') throw new Error(`the clone has ${commits} commits, expected 3`);
      await run('rm', ['-rf', path.join(dir, 'git')]);
      return { seconds: t };
    },
  },
  sqliteStep('sqlite_rollback', 'delete', 'rollback journal'),
  sqliteStep('sqlite_wal', 'wal', 'WAL'),
  {
    id: 'make',
    label: (s) => `make -j4 of ${s.cFiles + 1} generated C files`,
    async run(dir, { sizes: s }) {
      const src = path.join(dir, 'make');
      writeCSources(src, s.cFiles);
      const t = await timed(() => run('make', ['-j4', '-s'], { cwd: src }));
      const out = await run(path.join(src, 'prog'), []);
      if (!out.startsWith(`units ${s.cFiles} sum `)) throw new Error(`the built program printed ${JSON.stringify(out)}`);
      await run('rm', ['-rf', src]);
      return { seconds: t };
    },
  },
  {
    id: 'meta',
    label: (s) => `create+stat+unlink of ${s.metaFiles} empty files`,
    async run(dir, { sizes: s }) {
      const r = await child<MetaResult>(['meta', path.join(dir, 'meta'), String(s.metaFiles)]);
      return { seconds: r.seconds, opsPerSec: (3 * s.metaFiles) / r.seconds };
    },
  },
];
