/** put/get through the CLI: stdin/stdout, policies, inline small files, replace, not enough disks, benchmark. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withTmpDir } from '../helpers/tmp';

const BIN = path.resolve(__dirname, '../../../bin/dynamicfs.js');

function run(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, maxBuffer: 256 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

function json(args: string[], input?: Buffer): Record<string, any> {
  const r = run([...args, '--json'], input);
  const out = JSON.parse(r.stdout.toString()) as Record<string, any>;
  assert.equal(r.status, out.ok ? 0 : 1, r.stderr);
  return out;
}

function pool(root: string, disks: number, redundancy = 'rs:4+2'): string {
  const p = path.join(root, 'pool');
  assert.ok(json(['init', p, '--redundancy', redundancy]).ok);
  for (let i = 0; i < disks; i++) {
    fs.mkdirSync(path.join(root, `d${i}`));
    assert.ok(json(['add-disk', p, path.join(root, `d${i}`)]).ok);
  }
  return p;
}

const fragmentFiles = (root: string) => fs.readdirSync(root).filter((d) => /^d\d$/.test(d))
  .flatMap((d) => fs.existsSync(path.join(root, d, 'frags')) ? (fs.readdirSync(path.join(root, d, 'frags'), { recursive: true }) as string[]) : [])
  .filter((f) => /\.\d+$/.test(String(f)));

test('stdin to stdout, byte-identical; replace frees the old fragments', async () => {
  await withTmpDir((root) => {
    const p = pool(root, 6);
    const a = randomBytes(9 * 1024 * 1024 + 17);
    assert.ok(json(['put', p, '-', '/a.bin'], a).ok);
    const got = run(['get', p, '/a.bin', '-']);
    assert.equal(got.status, 0, got.stderr);
    assert.ok(got.stdout.equals(a));
    const before = fragmentFiles(root).length;
    assert.equal(before, 3 * 6, '9 MiB at 4 MiB extents: 3 extents x 6 fragments');

    const b = randomBytes(5 * 1024 * 1024);
    const r = json(['put', p, '-', '/a.bin'], b);
    assert.ok(r.ok);
    assert.ok(run(['get', p, '/a.bin', '-']).stdout.equals(b));
    assert.equal(fragmentFiles(root).length, 2 * 6, 'the replaced extents\' fragments are gone');
    const st = json(['stat', p, '/a.bin']);
    assert.equal(st.size, b.length);
  });
});

test('small files live inline: no fragment files, still verified and readable', async () => {
  await withTmpDir((root) => {
    const p = pool(root, 6);
    const small = randomBytes(3000);
    fs.writeFileSync(path.join(root, 'small'), small);
    assert.ok(json(['put', p, path.join(root, 'small'), '/small']).ok);
    assert.equal(fragmentFiles(root).length, 0);
    assert.ok(run(['get', p, '/small', '-']).stdout.equals(small));
    fs.writeFileSync(path.join(root, 'empty'), '');
    assert.ok(json(['put', p, path.join(root, 'empty'), '/empty']).ok);
    assert.equal(run(['get', p, '/empty', '-']).stdout.length, 0);
  });
});

test('a mirror policy stores full replicas on distinct disks', async () => {
  await withTmpDir((root) => {
    const p = pool(root, 3, 'mirror:3');
    const data = randomBytes(100_000);
    assert.ok(json(['put', p, '-', '/m'], data).ok);
    const st = json(['stat', p, '/m']);
    const disks = new Set(st.extents[0].fragments.map((f: { diskId: number }) => f.diskId));
    assert.equal(disks.size, 3);
    fs.rmSync(path.join(root, 'd0'), { recursive: true });
    fs.rmSync(path.join(root, 'd2'), { recursive: true });
    assert.ok(run(['get', p, '/m', '-']).stdout.equals(data), 'one replica is enough');
  });
});

test('a policy needing more disks than the pool has says how many more, and stores nothing', async () => {
  await withTmpDir((root) => {
    const p = pool(root, 3);
    const r = json(['put', p, '-', '/x'], randomBytes(1 << 20));
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'ENODISKS');
    assert.match(r.error.message, /needs 6 healthy disks but the pool has 3: add 3 more/);
    assert.equal(json(['ls', p, '/']).entries.length, 0);
    assert.equal(fragmentFiles(root).length, 0);
    const wide = json(['put', p, '-', '/y', '--redundancy', 'rs:2+1'], randomBytes(1 << 20));
    assert.ok(wide.ok, 'a narrower per-file policy fits');
  });
});

test('benchmark --json reports throughput against the raw baseline and leaves nothing behind', async () => {
  await withTmpDir((root) => {
    const p = pool(root, 6);
    const r = json(['benchmark', p, '--file-size', '32M', '--operations', '10']);
    assert.ok(r.ok);
    for (const k of ['raw_write_mbps', 'write_mbps', 'read_mbps', 'put_ops_per_sec', 'get_ops_per_sec']) assert.ok(r[k] > 0, k);
    assert.equal(r.write_vs_raw, Number((r.write_mbps / r.raw_write_mbps).toFixed(2)));
    assert.equal(json(['ls', p, '/']).entries.length, 0);
    assert.equal(fragmentFiles(root).length, 0);
  });
});
