/** File writes and read-backs the tests repeat. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ok } from './cli';

/** Write `data` as the whole of `file` and fsync it before closing (through a mount: durable when this returns). */
export function writeSynced(file: string, data: Buffer): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Write `data` as the whole of `file` through a mount and commit a transaction group with
 * it before returning: made under a temporary name and renamed (the intent log carries no
 * rename), then fsync'd. For tests of what group commits write; writeSynced's fsync of a
 * new file may go to the intent log instead.
 */
export function writeCommitted(file: string, data: Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Every file of `files` (pool path → bytes) reads back identical with `dynamicfs get` (through `root`/out). */
export function assertReadsBack(root: string, pool: string, files: Map<string, Buffer>): void {
  for (const [p, bytes] of files) {
    const dest = path.join(root, 'out');
    ok('get', pool, p, dest);
    assert.equal(Buffer.compare(fs.readFileSync(dest), bytes), 0, `${p} reads back identical`);
    fs.rmSync(dest);
  }
}

/** Fragment files (`<extent id>.<index>`) under every disk's frags/ directory. */
export function fragmentFiles(disks: readonly string[]): number {
  let n = 0;
  const walk = (dir: string): void => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      if (ent.isDirectory()) walk(path.join(dir, ent.name));
      else if (/^[0-9a-f]{32}\.\d+$/.test(ent.name)) n++;
    }
  };
  for (const d of disks) if (fs.existsSync(path.join(d, 'frags'))) walk(path.join(d, 'frags'));
  return n;
}
