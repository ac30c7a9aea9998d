/**
 * `check` verifies every disk's metadata copy (head, checkpoint, log, currency) and
 * `check --repair` gives each damaged or stale copy a fresh checkpoint. Planted while a
 * coordinator serves (opening a pool offline brings stale copies up to date by itself), so
 * check runs there, through the CLI. A copy at the store's generation with another history
 * (its hash chain differs) is found too.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { writeCommitted } from '../helpers/files';
import { decodeRecords, encodeRecord } from '../../src/pool/meta-format';
import { fails, ok, type Json } from '../helpers/cli';
import { makePool, startCoordinator, stopCoordinator } from '../helpers/mount';
import { Rng } from '../helpers/random';
import { rmrf, tmpDir } from '../helpers/tmp';


interface Head { poolUuid: string; checkpoint: { file: string; generation: number; chain: string }; log: string }

function head(disk: string): Head {
  return JSON.parse(fs.readFileSync(path.join(disk, 'meta', 'head'), 'utf8')) as Head;
}

/** A disk's log records, and where they end (a coordinator's log goes on in zeros written ahead). */
function logRecords(disk: string): { file: string; log: Buffer } & ReturnType<typeof decodeRecords> {
  const h = head(disk);
  const file = path.join(disk, 'meta', h.log);
  const log = fs.readFileSync(file);
  return { file, log, ...decodeRecords(log, h.poolUuid, h.checkpoint.generation + 1, Buffer.from(h.checkpoint.chain, 'hex')) };
}

function metaProblems(report: Json): Json[] {
  return (report.problems as Json[]).map((p) => ({ kind: p.kind, disk: p.disk, repaired: p.repaired }));
}

test('check lists a flipped checkpoint byte, a truncated log and a stale copy by disk; --repair renews them; then clean', async () => {
  const root = tmpDir('dfs-metacheck-');
  const mnt = path.join(root, 'mnt');
  try {
    const { pool, disks } = makePool(root, 6, 'rs:4+2', '1M');
    const rng = new Rng(1414);
    const files = new Map<string, Buffer>();
    const c = await startCoordinator(pool, mnt);
    try {
      for (let i = 0; i < 3; i++) {
        files.set(`early-${i}`, rng.bytes(rng.int(100, 300_000)));
        writeCommitted(path.join(mnt, `early-${i}`), files.get(`early-${i}`)!);
      }
      const saved = path.join(root, 'saved-area');
      fs.cpSync(path.join(disks[2]!, 'meta'), saved, { recursive: true });
      for (let i = 0; i < 3; i++) {
        files.set(`later-${i}`, rng.bytes(rng.int(100, 300_000)));
        writeCommitted(path.join(mnt, `later-${i}`), files.get(`later-${i}`)!);
      }
      assert.deepEqual(ok('check', pool).problems, [], 'a pool just written checks clean');

      // Disk 1: one byte of its checkpoint flipped.
      const ckpt = path.join(disks[0]!, 'meta', head(disks[0]!).checkpoint.file);
      const bytes = fs.readFileSync(ckpt);
      bytes[bytes.length >> 1] ^= 0x40;
      fs.writeFileSync(ckpt, bytes);
      // Disk 2: its log cut in the middle of its last record.
      const { file: log, records: written, end: size } = logRecords(disks[1]!);
      assert.ok(written.length >= 6, `the log holds a record per fsync at least (${written.length})`);
      fs.truncateSync(log, size - 7);
      // Disk 3: the area it had three generations ago copied back.
      rmrf(path.join(disks[2]!, 'meta'));
      fs.cpSync(saved, path.join(disks[2]!, 'meta'), { recursive: true });

      const found = fails('ECHECK', ['check', pool]);
      const expected = [
        { kind: 'meta-checkpoint-corrupt', disk: 1, repaired: false },
        { kind: 'meta-log-corrupt', disk: 2, repaired: false },
        { kind: 'meta-copy-stale', disk: 3, repaired: false },
      ];
      assert.deepEqual(metaProblems(found), expected);
      assert.equal(found.remaining, 3);
      const messages = (found.problems as Json[]).map((p) => p.message as string);
      assert.match(messages[0]!, /^metadata copy on disk 1: checkpoint ckpt-\d+-[0-9a-f]{8}\.db \(generation \d+\) on .*disk0 fails its BLAKE3/);
      assert.match(messages[1]!, /^metadata copy on disk 2: log log-\d+-[0-9a-f]{8}\.log on .*disk1: its \d+ bytes from byte \d+ on/);
      assert.match(messages[2]!, /^metadata copy on disk 3: the copy on .*disk2 holds generation \d+, the store is at \d+$/);

      const repaired = ok('check', pool, '--repair');
      assert.deepEqual(metaProblems(repaired), expected.map((p) => ({ ...p, repaired: true })));
      assert.equal(repaired.clean, true);
      for (const p of repaired.problems as Json[]) assert.match(p.repair as string, /^a fresh checkpoint \(generation \d+\) written to the disk$/);

      const again = ok('check', pool);
      assert.deepEqual(again.problems, []);
      const copies = ok('status', pool).metaCopies.disks as Json[];
      assert.deepEqual(copies.map((d) => d.state), disks.map(() => 'current'));
      // Written after the repair: appended to the renewed logs too.
      files.set('after', rng.bytes(5000));
      writeCommitted(path.join(mnt, 'after'), files.get('after')!);
      assert.deepEqual(ok('check', pool).problems, []);
    } finally {
      await stopCoordinator(mnt, c.child);
    }
    // The disks alone now hold everything: import from them and read it all back.
    rmrf(pool);
    ok('import', pool, ...disks);
    const c2 = await startCoordinator(pool, mnt);
    try {
      for (const [name, data] of files) assert.ok(fs.readFileSync(path.join(mnt, name)).equals(data), `${name} reads back identical`);
    } finally {
      await stopCoordinator(mnt, c2.child);
    }
  } finally {
    rmrf(root);
  }
});

test('check finds a copy at the store\'s generation with another history (its hash chain differs); --repair renews it', async () => {
  const root = tmpDir('dfs-metacheck-');
  const mnt = path.join(root, 'mnt');
  try {
    const { pool, disks } = makePool(root, 6, 'rs:4+2', '1M');
    const c = await startCoordinator(pool, mnt);
    try {
      writeCommitted(path.join(mnt, 'a'), new Rng(1415).bytes(50_000));
      assert.deepEqual(ok('check', pool).problems, []);
      // Disk 4's newest record replaced by one of the same generation and length, sealed whole, chained
      // to the same predecessor, with another payload: what a disk that went on elsewhere would hold.
      const h = head(disks[3]!);
      const anchor = Buffer.from(h.checkpoint.chain, 'hex');
      const { file: logFile, log, records, end } = logRecords(disks[3]!);
      assert.ok(log.subarray(end).equals(Buffer.alloc(log.length - end)), 'the log ends in the zeros a coordinator writes ahead');
      const last = records.at(-1)!;
      assert.ok(last.payload.length > 0);
      const other = Buffer.from(last.payload);
      other[other.length - 1] ^= 0x01;
      const forged = encodeRecord(h.poolUuid, last.generation, records.at(-2)?.seal ?? anchor, other);
      const fd = fs.openSync(logFile, 'r+');
      try {
        fs.writeSync(fd, forged, 0, forged.length, end - forged.length);
      } finally {
        fs.closeSync(fd);
      }
      const found = fails('ECHECK', ['check', pool]);
      assert.deepEqual(metaProblems(found), [{ kind: 'meta-copy-diverged', disk: 4, repaired: false }]);
      assert.match((found.problems as Json[])[0]!.message as string,
        new RegExp(`^metadata copy on disk 4: the copy on .*disk3 holds generation ${last.generation} with another history: its hash chain there is [0-9a-f]{16}\\.\\.\\., the pool's [0-9a-f]{16}\\.\\.\\.$`));
      assert.deepEqual(metaProblems(ok('check', pool, '--repair')), [{ kind: 'meta-copy-diverged', disk: 4, repaired: true }]);
      assert.deepEqual(ok('check', pool).problems, []);
    } finally {
      await stopCoordinator(mnt, c.child);
    }
  } finally {
    rmrf(root);
  }
});
