/**
 * The pools older DynamicFS wrote (test/fixtures/formatN-pool.tar.gz; its README says how
 * and from which commit): extracted where their disks were registered, and the bytes
 * their files hold, regenerated.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ok, REPO } from './cli';
import { rmrf } from './tmp';

export const FIXTURE_FORMATS = ['format1', 'format2', 'format3', 'format4'] as const;

function pattern(len: number, f: (i: number) => number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = f(i);
  return b;
}

/** A file of `len` bytes with a recognisable pattern (the fixtures' own pattern function). */
export const patterned = pattern;

/** The files the fixture scripts stored, by pool path. */
export function expectedFiles(format: string): Map<string, Buffer> {
  return new Map([
    ['/small.txt', Buffer.from(`hello from format ${format}\n`)],
    ['/inline-16k.bin', pattern(16384, (i) => (i * 7) % 251)],
    ['/large.bin', pattern(100123, (i) => (i * 13 + (i >> 10)) % 253)],
    ['/sub/mid.bin', pattern(20000, (i) => (i * 31) % 256)],
  ]);
}

/**
 * Extract a fixture to the absolute place its disks were registered at (root/pool,
 * root/d0..d5); removed afterwards. That place is fixed, so test files run at once
 * (node --test runs files concurrently) take turns: a directory beside it is the lock.
 */
export async function withFixture(name: string, fn: (pool: string, root: string) => Promise<void> | void): Promise<void> {
  const root = `/tmp/dynamicfs-fixture-${name}`;
  const release = await lockDir(`${root}.lock`);
  try {
    rmrf(root);
    execFileSync('tar', ['-xzf', path.join(REPO, 'test', 'fixtures', `${name}-pool.tar.gz`), '-C', '/tmp']);
    try {
      await fn(path.join(root, 'pool'), root);
    } finally {
      rmrf(root);
    }
  } finally {
    release();
  }
}

/**
 * Take a lock held by creating `dir` (atomic), waiting while another process holds it. A
 * lock left by a killed test process (its pid gone) is taken over.
 */
async function lockDir(dir: string): Promise<() => void> {
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'pid'), String(process.pid));
      return () => rmrf(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = NaN;
    try {
      holder = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
    } catch {
      // being created or removed: look again
    }
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) rmrf(dir);
    else await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The fixture's six disk directories. */
export function fixtureDisks(root: string): string[] {
  return Array.from({ length: 6 }, (_, i) => path.join(root, `d${i}`));
}

/** Every file the fixture stored reads back byte-identical with `dynamicfs get` (copies land in `dir`). */
export function readsBack(pool: string, format: string, dir: string): void {
  for (const [file, want] of expectedFiles(format)) {
    const dest = path.join(dir, path.basename(file));
    const got = ok('get', pool, file, dest);
    assert.equal(got.bytes, want.length, file);
    assert.ok(fs.readFileSync(dest).equals(want), `${file} reads back byte-identical`);
  }
}
