/**
 * Run the real `dynamicfs` CLI (bin/dynamicfs.js, compiled code) as a child process,
 * the way an operator or a script would. Tests must build first (`npm test` does).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root, from dist/test/helpers. */
export const REPO = path.resolve(__dirname, '../../..');
export const BIN = path.join(REPO, 'bin', 'dynamicfs.js');

/** One JSON reply: {"ok":true,...} or {"ok":false,"error":{...}}. */
export type Json = Record<string, any>;

export interface CliResult {
  code: number;
  /** The parsed JSON object (undefined if stdout was not exactly one JSON object). */
  json: Json | undefined;
  stdout: string;
  stderr: string;
}

/** Run `dynamicfs ...args --json`. */
export function dfs(...args: string[]): CliResult {
  return run([...args, '--json']);
}

/** Run `dynamicfs ...args` as given (human output, or with a --json of its own). */
export function run(args: string[]): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  let json: Json | undefined;
  try {
    json = JSON.parse(r.stdout) as Json;
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, json, stdout: r.stdout, stderr: r.stderr };
}

/** What `dfsWith` returns: the exit status or the signal that ended it (a crash point's SIGKILL), the JSON, all output. */
export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  json: Json | undefined;
  out: string;
}

/** Run `dynamicfs ...args --json` with extra environment (fault and crash points) and stdin. */
export function dfsWith(args: string[], opts: { env?: Record<string, string>; input?: Buffer } = {}): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json'], { env: { ...process.env, ...opts.env }, input: opts.input, encoding: 'utf8', timeout: 60_000 });
  let json: Json | undefined;
  try {
    json = JSON.parse(r.stdout) as Json;
  } catch {
    json = undefined;
  }
  return { status: r.status, signal: r.signal, json, out: r.stdout + r.stderr };
}

/** Run with --json and require success; returns the reply. */
export function ok(...args: string[]): Json {
  const r = dfs(...args);
  assert.equal(r.code, 0, `dynamicfs ${args.join(' ')} failed (${r.code}): ${r.stdout}${r.stderr}`);
  assert.ok(r.json, `dynamicfs ${args.join(' ')} printed no JSON: ${r.stdout}`);
  assert.equal(r.json.ok, true);
  return r.json;
}

/**
 * Run with --json and require failure with `code`: exit status `exit` (1 unless a
 * usage error), exactly one JSON object on stdout carrying the code and a message,
 * and nothing else on stdout. Returns the error object.
 */
export function fails(code: string, args: string[], exit = code === 'EUSAGE' ? 2 : 1): Json {
  const r = dfs(...args);
  assert.ok(r.json, `dynamicfs ${args.join(' ')}: stdout is not one JSON object: ${JSON.stringify(r.stdout)} ${r.stderr}`);
  assert.equal(r.json.ok, false, `dynamicfs ${args.join(' ')} should have failed: ${r.stdout}`);
  assert.equal(r.json.error?.code, code, `dynamicfs ${args.join(' ')}: ${r.stdout}`);
  assert.equal(typeof r.json.error.message, 'string');
  assert.ok(r.json.error.message.length > 10, 'the message says what went wrong');
  assert.equal(r.code, exit, `exit status of dynamicfs ${args.join(' ')}`);
  return r.json.error as Json;
}

/** init a pool under `root` and add `n` fresh disk directories; returns their paths. */
export function makePool(root: string, n = 6, ...initArgs: string[]): { pool: string; disks: string[] } {
  const pool = path.join(root, 'pool');
  ok('init', pool, ...initArgs);
  const disks: string[] = [];
  for (let i = 1; i <= n; i++) {
    const d = path.join(root, `disk${i}`);
    fs.mkdirSync(d);
    ok('add-disk', pool, d);
    disks.push(d);
  }
  return { pool, disks };
}

/**
 * Start a process that opens the pool (taking its lock) and holds it until killed.
 * Resolves once the lock is held.
 */
export async function holdPool(pool: string): Promise<ChildProcess> {
  const engine = path.join(REPO, 'dist', 'src', 'engine', 'open.js');
  const script = `require(${JSON.stringify(engine)}).openEngine(${JSON.stringify(pool)});`
    + 'process.stdout.write("locked\\n"); setInterval(() => {}, 1 << 30);';
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
    child.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('locked')) resolve(); });
    child.on('exit', (code) => reject(new Error(`lock holder exited (${code}): ${err}`)));
  });
  return child;
}

/** Kill a child started by holdPool and wait until it is gone (its lock released). */
export async function release(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}
