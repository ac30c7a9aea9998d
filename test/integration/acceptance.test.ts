/**
 * Issue acceptance, through the CLI: a pool of 6 directory disks at rs:4+2 holds a tree
 * of 500 files from 0 bytes to 64 MiB; it reads back byte-identical; with two disks'
 * directories gone it still does; with bytes flipped inside every fragment on two other
 * disks it still does, and the checksum errors show in `status --json`.
 *
 * Sizes are log-uniform (plus empty files and one of exactly 64 MiB), so every scale
 * from inline to multi-extent is covered while the tree stays near 1-2 GB.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../helpers/random';
import { withTmpDir } from '../helpers/tmp';

const BIN = path.resolve(__dirname, '../../../bin/dynamicfs.js');
const MAX = 64 * 1024 * 1024;

function ok(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `dynamicfs ${args.join(' ')}: ${r.stdout} ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

function makeTree(dir: string, rng: Rng): Map<string, string> {
  const pool = randomBytes(MAX + 4096);
  const digests = new Map<string, string>();
  for (let i = 0; i < 500; i++) {
    const size = i === 0 ? MAX : i % 25 === 1 ? 0 : Math.floor(Math.exp((rng.next() / 0x100000000) * Math.log(MAX)));
    const rel = `d${i % 7}/sub${i % 3}/file-${i}`;
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // A window of one random buffer, tagged with the file's number: distinct contents, cheap to make.
    const start = rng.int(0, 4096);
    const bytes = Buffer.from(pool.subarray(start, start + size));
    if (size >= 4) bytes.writeUInt32LE(i, 0);
    fs.writeFileSync(file, bytes);
    digests.set(rel, createHash('sha256').update(bytes).digest('hex'));
  }
  return digests;
}

function assertTree(dir: string, want: Map<string, string>, when: string): void {
  for (const [rel, digest] of want) {
    const got = createHash('sha256').update(fs.readFileSync(path.join(dir, rel))).digest('hex');
    assert.equal(got, digest, `${when}: ${rel} differs`);
  }
}

/** Flip one payload byte in every fragment file on a disk; returns how many were hit. */
function corruptDisk(disk: string, rng: Rng): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const size = fs.statSync(p).size;
        const fd = fs.openSync(p, 'r+');
        const at = 4096 + rng.int(0, Math.max(0, size - 4097)); // inside the payload, past the header
        const b = Buffer.alloc(1);
        fs.readSync(fd, b, 0, 1, at);
        b[0]! ^= 0xff;
        fs.writeSync(fd, b, 0, 1, at);
        fs.closeSync(fd);
        n++;
      }
    }
  };
  walk(path.join(disk, 'frags'));
  return n;
}

test('500 files up to 64 MiB survive two lost disks, then two corrupted disks', async () => {
  await withTmpDir(async (root) => {
    const rng = new Rng();
    const src = path.join(root, 'src');
    const want = makeTree(src, rng);
    const pool = path.join(root, 'pool');
    ok(['init', pool]);
    const disks = Array.from({ length: 6 }, (_, i) => path.join(root, `disk${i}`));
    for (const d of disks) {
      fs.mkdirSync(d);
      ok(['add-disk', pool, d]);
    }
    const put = ok(['put', pool, src, '/tree']);
    assert.equal(put.files, 500);

    ok(['get', pool, '/tree', path.join(root, 'out1')]);
    assertTree(path.join(root, 'out1'), want, 'healthy pool');
    fs.rmSync(path.join(root, 'out1'), { recursive: true });

    // Two disks vanish: their directories are moved out of the pool's sight (kept only
    // so the corruption scenario below can start from a whole pool again).
    for (const i of [0, 1]) fs.renameSync(disks[i]!, `${disks[i]}.gone`);
    const degraded = ok(['status', pool]) as { disks: { missing: number }; extents: { degraded: number; unrecoverable: number } };
    assert.equal(degraded.disks.missing, 2);
    assert.ok(degraded.extents.degraded > 0);
    assert.equal(degraded.extents.unrecoverable, 0);
    ok(['get', pool, '/tree', path.join(root, 'out2')]);
    assertTree(path.join(root, 'out2'), want, 'two disks gone');
    fs.rmSync(path.join(root, 'out2'), { recursive: true });
    // The read noticed they vanished: failed, and they stay so when they come back,
    // until the operator says otherwise.
    for (const i of [0, 1]) fs.renameSync(`${disks[i]}.gone`, disks[i]!);
    const states = (ok(['disks', pool]) as { disks: { path: string; state: string }[] }).disks;
    for (const i of [0, 1]) {
      assert.equal(states.find((d) => d.path === disks[i])!.state, 'failed');
      ok(['set-disk-health', pool, disks[i]!, 'healthy', '--reason', 'reattached']);
    }

    // Instead: flip bytes inside every fragment on two other disks.
    const hit = corruptDisk(disks[2]!, rng) + corruptDisk(disks[3]!, rng);
    assert.ok(hit > 0);
    ok(['get', pool, '/tree', path.join(root, 'out3')]);
    assertTree(path.join(root, 'out3'), want, 'two disks corrupted');

    const status = ok(['status', pool]) as { errors: { checksum: number }; repairQueue: number; perDisk: { path: string; checksumErrors: number }[] };
    const perDisk = new Map(status.perDisk.map((d) => [d.path, d.checksumErrors]));
    assert.ok(perDisk.get(disks[2]!)! > 0 && perDisk.get(disks[3]!)! > 0, `checksum errors counted on the corrupted disks: ${JSON.stringify(status.perDisk)}`);
    for (const i of [0, 1, 4, 5]) assert.equal(perDisk.get(disks[i]!), 0, `no errors blamed on healthy disk ${i}`);
    assert.ok(status.errors.checksum > 0);
    assert.ok(status.repairQueue > 0);
  });
});
