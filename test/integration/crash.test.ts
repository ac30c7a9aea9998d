/**
 * Crash consistency, proved by killing the real CLI: a `put` that replaces files is
 * SIGKILLed at each named crash point and at random moments; after every crash the
 * pool opens, every file reads back wholly old or wholly new (verified bytes), and
 * `gc` finds the orphans the crash left and removes them without harming anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../helpers/random';
import { withTmpDir } from '../helpers/tmp';

const BIN = path.resolve(__dirname, '../../../bin/dynamicfs.js');

function dfs(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json'], { encoding: 'utf8', env: { ...process.env, ...env } });
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch { /* a killed process prints nothing */ }
  return { status: r.status, signal: r.signal, json, stderr: r.stderr };
}

function ok(args: string[]) {
  const r = dfs(args);
  assert.equal(r.status, 0, `dynamicfs ${args.join(' ')} failed: ${JSON.stringify(r.json)} ${r.stderr}`);
  return r.json!;
}

/** A pool of 6 disks with small extents so one file spans many extents (and many fragments). */
function makePool(root: string): string {
  const pool = path.join(root, 'pool');
  ok(['init', pool, '--redundancy', 'rs:4+2', '--extent-size', '65536']);
  for (let i = 0; i < 6; i++) {
    fs.mkdirSync(path.join(root, `disk${i}`));
    ok(['add-disk', pool, path.join(root, `disk${i}`)]);
  }
  return pool;
}

/** Version v of the file set: distinct bytes per file and per version. */
function writeVersion(dir: string, rng: Rng, sizes: number[]): Map<string, Buffer> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const files = new Map<string, Buffer>();
  sizes.forEach((size, i) => {
    const b = rng.bytes(size);
    fs.writeFileSync(path.join(dir, `f${i}`), b);
    files.set(`f${i}`, b);
  });
  return files;
}

function readBack(pool: string, root: string, name: string): Buffer | null {
  const out = path.join(root, `readback-${name}`);
  fs.rmSync(out, { force: true });
  const r = dfs(['get', pool, `/data/${name}`, out]);
  if (r.status !== 0) {
    assert.equal((r.json?.error as { code: string }).code, 'ENOENT', `get /data/${name}: ${JSON.stringify(r.json)}`);
    return null;
  }
  return fs.readFileSync(out);
}

/** Every file must be byte-identical to its old or its new version (or absent if it had no old one). */
/** Every file is exactly the version `expect` names (old: as before, or absent if it was new). */
function assertWholeFiles(pool: string, root: string, oldV: Map<string, Buffer> | null, newV: Map<string, Buffer>, expect: 'old' | 'new'): void {
  for (const [name, fresh] of newV) {
    const got = readBack(pool, root, name);
    const prior = oldV?.get(name) ?? null;
    const want = expect === 'new' ? fresh : prior;
    assert.ok(want === null ? got === null : got !== null && got.equals(want), `${name} should be wholly ${expect} (got ${got?.length ?? 'none'} bytes)`);
  }
}

const SIZES = [300_000, 70_000, 5_000, 1_000_000];
/** f3 is 16 extents of 64 KiB (its 16,960-byte tail is over the inline limit), 6 fragments each. */
const F3_FRAGMENTS = 16 * 6;

/** Every fragment and in-flight file on the 6 disks, named as gc names its orphans (kind:name). */
function diskFiles(root: string): Set<string> {
  const files = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const disk = path.join(root, `disk${i}`);
    for (const entry of fs.readdirSync(path.join(disk, 'frags'), { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) files.add(`fragment:${entry.name}`);
    }
    const tmp = path.join(disk, 'tmp');
    if (fs.existsSync(tmp)) for (const name of fs.readdirSync(tmp)) files.add(`tmp:${name}`);
  }
  return files;
}

const minus = (a: Set<string>, b: Set<string>) => new Set([...a].filter((x) => !b.has(x)));

test('SIGKILL at each named crash point leaves old or new content, and gc cleans up', async () => {
  await withTmpDir(async (root) => {
    const rng = new Rng();
    const pool = makePool(root);
    const src = path.join(root, 'src');
    let current = writeVersion(src, rng, SIZES);
    ok(['put', pool, src, '/data']);
    // Put f3 once more on its own to learn its fragment files: the ones this put creates.
    const first = diskFiles(root);
    ok(['put', pool, path.join(src, 'f3'), '/data/f3']);
    let f3Files = minus(diskFiles(root), first);
    assert.equal(f3Files.size, F3_FRAGMENTS);

    // `removed`: old fragments the put deleted before dying. Dropped extents go one at a
    // time, 6 fragments each, so during-delete:3 has removed exactly 3 extents' worth.
    const points: { point: string; expect: 'old' | 'new'; removed: number }[] = [
      { point: 'after-fragment-write:7', expect: 'old', removed: 0 },
      { point: 'before-commit', expect: 'old', removed: 0 },
      { point: 'after-commit', expect: 'new', removed: 0 },
      { point: 'during-delete:3', expect: 'new', removed: 3 * 6 },
    ];
    for (const { point, expect, removed } of points) {
      const next = writeVersion(src, rng, SIZES);
      const before = diskFiles(root);
      // Replace the largest file only: a single put, one transaction, so the expected side is exact.
      const r = dfs(['put', pool, path.join(src, 'f3'), '/data/f3'], { DYNAMICFS_CRASH_AT: point });
      assert.equal(r.signal, 'SIGKILL', `put should have been killed at ${point} (status ${r.status}, ${JSON.stringify(r.json)})`);
      const after = diskFiles(root);
      const created = minus(after, before);
      assert.deepEqual(minus(minus(before, after), f3Files), new Set(), `${point}: only old f3 fragments were removed`);
      assert.equal(minus(before, after).size, removed, `${point}: old f3 fragments the put removed before dying`);
      const f3 = new Map([['f3', next.get('f3')!]]);
      assertWholeFiles(pool, root, new Map([['f3', current.get('f3')!]]), f3, expect);

      // What the crash left for gc: uncommitted, every file the killed put created (its
      // fragments, and any write still in flight); committed, the old f3's fragments it
      // had not yet removed, while the new f3's are live.
      const leftover = expect === 'old' ? created : new Set([...f3Files].filter((f) => after.has(f)));
      const dry = ok(['gc', pool, '--min-age', '0', '--dry-run']);
      const orphans = new Set((dry.orphans as { kind: string; name: string }[]).map((o) => `${o.kind}:${o.name}`));
      assert.deepEqual(orphans, leftover, `${point}: gc's orphans are exactly what the crash left`);
      if (expect === 'new') {
        current = new Map([...current, ['f3', next.get('f3')!]]);
        f3Files = created;
      }
      const done = ok(['gc', pool, '--min-age', '0']);
      assert.equal(done.removed, orphans.size);
      assert.deepEqual(diskFiles(root), minus(after, orphans), `${point}: gc removed the orphans and nothing else`);
      assert.equal((ok(['gc', pool, '--min-age', '0', '--dry-run']).orphans as unknown[]).length, 0);
      // Nothing committed was harmed by the crash or by gc.
      assertWholeFiles(pool, root, null, current, 'new');
    }
  });
});

/** Fragment files a put of these sizes writes: 6 per 64 KiB extent (rs:4+2); an extent of up to 16 KiB (a small file, or a file's tail) is inline. */
function fragmentWrites(sizes: number[]): number {
  const extents = (size: number): number => Math.floor(size / 65536) + (size % 65536 > 16 * 1024 ? 1 : 0);
  return sizes.reduce((n, size) => n + extents(size) * 6, 0);
}

test('SIGKILL at random moments during a tree put: every file wholly old or wholly new', async () => {
  await withTmpDir(async (root) => {
    const rng = new Rng();
    const pool = makePool(root);
    const src = path.join(root, 'src');
    let current = writeVersion(src, rng, SIZES);
    ok(['put', pool, src, '/data']);
    for (let round = 0; round < 6; round++) {
      const sizes = SIZES.map((s) => s + rng.int(0, 100_000));
      const next = writeVersion(src, rng, sizes);
      // A random moment inside the put, counted in its own fragment writes rather than in
      // wall time, so the kill always lands while the put is writing (never after it ended).
      const at = rng.int(1, fragmentWrites(sizes));
      const r = dfs(['put', pool, src, '/data'], { DYNAMICFS_CRASH_AT: `after-fragment-write:${at}` });
      assert.equal(r.signal, 'SIGKILL', `round ${round} (seed ${rng.seed}): the put should die at fragment write ${at} (status ${r.status}, ${JSON.stringify(r.json)})`);
      // Each file independently: old or new.
      const after = new Map<string, Buffer>();
      for (const [name, fresh] of next) {
        const got = readBack(pool, root, name);
        assert.ok(got && (got.equals(current.get(name)!) || got.equals(fresh)), `round ${round} (seed ${rng.seed}, kill at fragment write ${at}): ${name} is torn`);
        after.set(name, got!);
      }
      current = after;
      // The fragment written last before the kill belongs to no commit: gc finds it among the orphans and removes exactly those.
      const dry = ok(['gc', pool, '--min-age', '0', '--dry-run']);
      assert.ok((dry.orphans as unknown[]).length > 0, `round ${round}: gc should find the orphans the kill left`);
      assert.equal(ok(['gc', pool, '--min-age', '0']).removed, (dry.orphans as unknown[]).length);
      assert.equal((ok(['gc', pool, '--min-age', '0', '--dry-run']).orphans as unknown[]).length, 0);
      assertWholeFiles(pool, root, null, current, 'new');
    }
    // After six crashes and six gcs the pool is whole: every extent present and clean.
    const status = ok(['status', pool]);
    assert.equal(status.health, 'healthy');
    assert.equal((status.namespace as { files: number }).files, SIZES.length);
    const scrub = ok(['scrub', pool]);
    assert.equal(scrub.clean, true, JSON.stringify(scrub));
    assert.equal((scrub.fragments as { bad: number }).bad, 0);
  });
});
