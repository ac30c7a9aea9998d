/**
 * Transaction groups through the mount: after a SIGKILL the pool is exactly the last
 * committed group. What fsync returned for is there; what was only closed since is not;
 * a rename-over appears whole or not at all; files are complete or a prefix of what was
 * written, never foreign bytes; link counts agree with the names; gc finds no orphan.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { dfs, ok, run } from '../helpers/cli';
import { isMounted, startCoordinator, stopCoordinator, withMount } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { rmrf, tmpDir } from '../helpers/tmp';

const LONG_INTERVAL = 'commit.intervalMs=60000'; // longer than any test: only fsync (or the bound) commits

async function killCoordinator(child: import('node:child_process').ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

test('config shows the commit settings and refuses values outside their range, changing nothing', () => {
  const root = tmpDir('dfs-txg-');
  try {
    ok('init', path.join(root, 'pool'));
    const shown = ok('config', path.join(root, 'pool'));
    assert.deepEqual(shown.commit, { intervalMs: 5000, dirtyMaxBytes: 268435456 });
    const bad = dfs('config', path.join(root, 'pool'), '--set', 'commit.intervalMs=50');
    assert.equal(bad.code, 1);
    assert.equal(bad.json?.error.code, 'EINVAL');
    assert.match(bad.json?.error.message, /commit\.intervalMs=50 is outside 100\.\.60000/);
    assert.deepEqual(ok('config', path.join(root, 'pool')).commit, { intervalMs: 5000, dirtyMaxBytes: 268435456 });
    assert.deepEqual(ok('config', path.join(root, 'pool'), '--set', 'commit.intervalMs=250').commit, { intervalMs: 250, dirtyMaxBytes: 268435456 });
  } finally {
    rmrf(root);
  }
});

test('a rename-over is whole or absent; an fsync commits the group while another file keeps writing', async () => {
  await withMount(async ({ pool, mnt, child }) => {
    const p = (n: string) => path.join(mnt, n);
    const old = Buffer.alloc(300_000, 'o');
    const fresh = Buffer.alloc(200_000, 'n');
    const newer = Buffer.alloc(100_000, 'w');
    fs.writeFileSync(p('A'), old);
    let fd = fs.openSync(p('A'), 'r+');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    // In the next group: the usual "write a temp file, rename it over" update.
    fs.writeFileSync(p('A.tmp'), fresh);
    fs.renameSync(p('A.tmp'), p('A'));
    const x = fs.openSync(p('X'), 'w');
    fs.writeSync(x, Buffer.alloc(5_000_000, 'x'));
    fs.writeFileSync(p('B'), 'bee');
    fd = fs.openSync(p('B'), 'r');
    fs.fsyncSync(fd); // commits the group: the rename with it, and X's writes so far (an open file joins every group)
    fs.closeSync(fd);
    fs.writeSync(x, Buffer.alloc(5_000_000, 'y'));
    fs.writeFileSync(p('A.tmp2'), newer);
    fs.renameSync(p('A.tmp2'), p('A'));
    await killCoordinator(child);
    try { fs.closeSync(x); } catch { /* the endpoint is gone */ }
    assert.ok(isMounted(mnt));

    const again = await startCoordinator(pool, mnt);
    try {
      assert.deepEqual(fs.readdirSync(mnt).sort(), ['A', 'B', 'X']);
      assert.deepEqual(fs.readFileSync(p('A')), fresh);
      assert.equal(fs.readFileSync(p('B'), 'utf8'), 'bee');
      // Exactly what X held at the commit: the 'x' bytes, none of the 'y' ones written after it.
      assert.deepEqual(fs.readFileSync(p('X')), Buffer.alloc(5_000_000, 'x'));
    } finally {
      await stopCoordinator(mnt, again.child);
    }
    assert.equal(ok('gc', pool, '--min-age', '0', '--dry-run').orphans.length, 0);
  }, { config: [LONG_INTERVAL] });
});

/** A deterministic tree: nested directories, files from empty to several extents, hard links. */
function makeTree(root: string, rng: Rng): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let d = 0; d < 30; d++) {
    const dir = path.join('tree', `d${d % 6}`, `sub${d}`);
    fs.mkdirSync(path.join(root, dir), { recursive: true });
    for (let f = 0; f < 12; f++) {
      const pick = rng.int(0, 99);
      const size = pick < 70 ? rng.int(0, 12_000) : pick < 97 ? rng.int(16_000, 200_000) : rng.int(4_500_000, 6_000_000);
      const rel = path.join(dir, `f${f}.bin`);
      const bytes = rng.bytes(size);
      fs.writeFileSync(path.join(root, rel), bytes);
      files.set(rel, bytes);
    }
    const link = path.join(dir, 'link-to-f0');
    fs.linkSync(path.join(root, dir, 'f0.bin'), path.join(root, link));
    files.set(link, files.get(path.join(dir, 'f0.bin'))!);
  }
  return files;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    out.push(full);
    if (e.isDirectory()) walk(full, out);
  }
  return out;
}

for (const seed of [11, 29]) {
  test(`SIGKILL during a tar extract and fsyncs (seed ${seed}): fsynced files intact, the rest whole or a prefix, links consistent, no orphans`, async () => {
    const rng = new Rng(seed);
    const src = tmpDir('dfs-txg-src-');
    try {
      const tree = makeTree(src, rng);
      const tarball = path.join(src, 'tree.tar');
      assert.equal(spawnSync('tar', ['-C', src, '-cf', tarball, 'tree']).status, 0);
      const entries = spawnSync('tar', ['-tf', tarball], { encoding: 'utf8' }).stdout.trim().split('\n').length;
      const killAt = rng.int(Math.floor(entries * 0.2), Math.floor(entries * 0.7));

      await withMount(async ({ pool, mnt, child }) => {
        fs.mkdirSync(path.join(mnt, 'synced'));
        const synced = new Map<string, Buffer>();
        let stop = false;
        const fsyncer = (async () => {
          for (let i = 0; !stop; i++) {
            const name = path.join(mnt, 'synced', `s${i}`);
            const bytes = rng.bytes(rng.int(1, 60_000));
            const fh = await fs.promises.open(name, 'w');
            try {
              await fh.write(bytes);
              await fh.sync();
              synced.set(name, bytes); // fsync returned: this file must survive
            } finally {
              await fh.close().catch(() => undefined);
            }
          }
        })().catch(() => undefined); // ends with ENOTCONN once the coordinator is killed

        const tar = spawn('tar', ['-C', mnt, '-xvf', tarball], { stdio: ['ignore', 'pipe', 'ignore'] }); // its errors after the kill are expected
        let seen = 0;
        let killed = false;
        const tarDone = new Promise<number | null>((r) => tar.once('exit', (code) => r(code)));
        await new Promise<void>((resolve, reject) => {
          tar.stdout.on('data', (chunk: Buffer) => {
            seen += chunk.toString().split('\n').length - 1;
            if (!killed && seen >= killAt) {
              killed = true;
              assert.equal(tar.exitCode, null, 'the kill lands while tar is still extracting');
              killCoordinator(child).then(resolve, reject);
            }
          });
          tar.once('exit', () => { if (!killed) reject(new Error(`tar finished (${seen} entries) before the kill at ${killAt}`)); });
        });
        stop = true;
        assert.notEqual(await tarDone, 0, 'tar was cut off by the dead mount');
        await fsyncer;
        assert.ok(synced.size > 0, 'some fsyncs returned before the kill');

        const again = await startCoordinator(pool, mnt);
        try {
          try { fs.statSync(path.join(mnt, 'synced')); } catch (e) { throw new Error(`${(e as Error).message}\n${again.output()}`); }
          for (const [name, bytes] of synced) assert.deepEqual(fs.readFileSync(name), bytes, `${name} was fsynced`);
          const names = new Map<number, number>(); // inode -> names seen
          const links = new Map<number, number>(); // inode -> st_nlink
          for (const full of walk(path.join(mnt, 'tree'))) {
            const st = fs.lstatSync(full);
            if (st.isDirectory()) {
              const subdirs = fs.readdirSync(full, { withFileTypes: true }).filter((e) => e.isDirectory()).length;
              assert.equal(st.nlink, 2 + subdirs, `${full}: directory link count`);
              continue;
            }
            const rel = path.relative(mnt, full);
            const want = tree.get(rel);
            assert.ok(want, `${rel} is a name the tarball holds`);
            const got = fs.readFileSync(full);
            assert.ok(got.length <= want.length && want.subarray(0, got.length).equals(got), `${rel}: ${got.length} bytes, not a prefix of its ${want.length}`);
            names.set(st.ino, (names.get(st.ino) ?? 0) + 1);
            links.set(st.ino, st.nlink);
          }
          for (const [ino, n] of names) assert.equal(links.get(ino), n, `inode ${ino}: st_nlink agrees with the names found`);
        } finally {
          await stopCoordinator(mnt, again.child);
        }
        const gc = ok('gc', pool, '--min-age', '0', '--dry-run');
        assert.deepEqual(gc.orphans, []);
      }, { config: [LONG_INTERVAL] });
    } finally {
      rmrf(src);
    }
  });
}

test('the dirty bound: a writer that outruns the disks forces commits, and the coordinator\'s memory stays bounded', async () => {
  const bound = 16 * 1024 * 1024;
  await withMount(async ({ pool, mnt, child }) => {
    const total = 256 * 1024 * 1024;
    const fh = await fs.promises.open(path.join(mnt, 'big'), 'w');
    const block = Buffer.alloc(1024 * 1024, 'b');
    for (let off = 0; off < total; off += block.length) await fh.write(block, 0, block.length, off);
    await fh.close();
    const text = run(['metrics', pool]).stdout;
    const m = /^dynamicfs_txg_commits_total\{reason="dirty-bound"\} (\d+)$/m.exec(text);
    assert.ok(m, `the dirty-bound commit counter is exported: ${text.split('\n').filter((l) => l.includes('txg')).join('\n')}`);
    assert.ok(Number(m[1]) > 0, `commits forced by the bound: ${m[1]}`);
    const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const peakKiB = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]);
    // The bound plus a fixed margin: the process itself, worker pools, and the write-behind buffers of one file.
    assert.ok(peakKiB * 1024 < bound + 640 * 1024 * 1024, `coordinator peak RSS ${peakKiB} KiB`);
    assert.equal(fs.statSync(path.join(mnt, 'big')).size, total);
  }, { config: [LONG_INTERVAL, `commit.dirtyMaxBytes=${bound}`] });
});
