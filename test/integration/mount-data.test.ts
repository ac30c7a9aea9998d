/**
 * Data through the mount: concurrent writers, a 1 GiB file, and a SIGKILL of the
 * coordinator — after which `dynamicfs mount` recovers the stale mount and every file
 * that had been closed or fsync'd is intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMounted, startCoordinator, stopCoordinator, withMount } from '../helpers/mount';
import { ok } from '../helpers/cli';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function run(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => { err += d; });
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer failed (${code}): ${err}`))));
  });
}

test('concurrent writers and appenders in separate processes', async () => {
  await withMount(async ({ mnt }) => {
    const writers = Array.from({ length: 4 }, (_, w) => run(`
      const fs = require('fs'), crypto = require('crypto');
      for (let i = 0; i < 15; i++) {
        const b = crypto.randomBytes(Math.floor(Math.random() * 3_000_000));
        fs.mkdirSync('${mnt}/w${w}', { recursive: true });
        fs.writeFileSync('${mnt}/w${w}/f' + i, b);
        fs.writeFileSync('${mnt}/w${w}/f' + i + '.sha', crypto.createHash('sha256').update(b).digest('hex'));
      }`));
    const appenders = Array.from({ length: 3 }, (_, a) => run(`
      const fs = require('fs');
      for (let i = 0; i < 200; i++) fs.appendFileSync('${mnt}/shared.log', 'appender ${a} line ' + i + '\\n');`));
    await Promise.all([...writers, ...appenders]);
    for (let w = 0; w < 4; w++) {
      for (let i = 0; i < 15; i++) {
        const b = fs.readFileSync(path.join(mnt, `w${w}`, `f${i}`));
        assert.equal(sha(b), fs.readFileSync(path.join(mnt, `w${w}`, `f${i}.sha`), 'utf8'), `w${w}/f${i}`);
      }
    }
    const lines = fs.readFileSync(path.join(mnt, 'shared.log'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 600, 'no append was lost or torn');
    for (let a = 0; a < 3; a++) {
      const mine = lines.filter((l) => l.startsWith(`appender ${a} `)).map((l) => Number(l.split(' ').pop()));
      assert.deepEqual(mine, Array.from({ length: 200 }, (_, i) => i), `appender ${a}'s lines in order`);
    }
  });
});

test('a 1 GiB file written with dd (fsync) reads back identical, also after a remount', async () => {
  await withMount(async ({ root, pool, mnt, child }) => {
    const src = path.join(root, 'big.src');
    const pattern = randomBytes(64 * 1024 * 1024);
    const fd = fs.openSync(src, 'w');
    for (let i = 0; i < 16; i++) {
      pattern[0] = i; // every 64 MiB block differs
      fs.writeSync(fd, pattern);
    }
    fs.closeSync(fd);
    const dd = spawnSync('dd', [`if=${src}`, `of=${mnt}/big`, 'bs=1M', 'conv=fsync'], { encoding: 'utf8' });
    assert.equal(dd.status, 0, dd.stderr);
    const cmp = spawnSync('cmp', [src, `${mnt}/big`], { encoding: 'utf8' });
    assert.equal(cmp.status, 0, cmp.stdout + cmp.stderr);
    // Remount: nothing cached anywhere; the bytes come back from the fragments.
    await stopCoordinator(mnt, child);
    const again = await startCoordinator(pool, mnt);
    try {
      const cmp2 = spawnSync('cmp', [src, `${mnt}/big`], { encoding: 'utf8' });
      assert.equal(cmp2.status, 0, cmp2.stdout + cmp2.stderr);
      assert.equal(fs.statSync(`${mnt}/big`).size, 1 << 30);
    } finally {
      await stopCoordinator(mnt, again.child);
    }
  });
});

test('SIGKILL of the coordinator: what fsync returned for survives, with everything committed in its group; what was only closed since is gone', async () => {
  // A commit interval longer than the test: only the fsync commits a group.
  await withMount(async ({ pool, mnt, child }) => {
    const closed = randomBytes(5_000_000);
    fs.writeFileSync(path.join(mnt, 'closed'), closed);
    fs.writeFileSync(path.join(mnt, 'small-closed'), 'in the same group as the fsync');
    const synced = randomBytes(6_000_000);
    const sfd = fs.openSync(path.join(mnt, 'synced'), 'w');
    fs.writeSync(sfd, synced);
    fs.fsyncSync(sfd);
    fs.writeFileSync(path.join(mnt, 'closed-after'), randomBytes(3_000_000)); // closed, never synced
    fs.renameSync(path.join(mnt, 'small-closed'), path.join(mnt, 'renamed-after'));
    const ufd = fs.openSync(path.join(mnt, 'unsynced'), 'w');
    fs.writeSync(ufd, randomBytes(9_000_000)); // never fsynced
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    for (const f of [sfd, ufd]) {
      try { fs.closeSync(f); } catch { /* the endpoint is gone */ }
    }
    assert.ok(isMounted(mnt), 'the dead coordinator leaves a stale mount behind');

    const again = await startCoordinator(pool, mnt);
    try {
      assert.deepEqual(fs.readFileSync(path.join(mnt, 'closed')), closed);
      assert.deepEqual(fs.readFileSync(path.join(mnt, 'synced')), synced);
      assert.equal(fs.readFileSync(path.join(mnt, 'small-closed'), 'utf8'), 'in the same group as the fsync');
      // The pool is exactly the group the fsync committed: nothing after it.
      assert.deepEqual(fs.readdirSync(mnt).sort(), ['closed', 'small-closed', 'synced']);
    } finally {
      await stopCoordinator(mnt, again.child);
    }
    // Offline again: the fragments of the lost writes were collected at startup.
    const gc = ok('gc', pool, '--min-age', '0', '--dry-run');
    assert.equal(gc.orphans.length, 0, JSON.stringify(gc.orphans.slice(0, 3)));
  }, { config: ['commit.intervalMs=60000'] });
});
