/**
 * fsync through the intent log, through the mount: a coordinator SIGKILLed right after
 * an fsync returned (and long before the interval commit) comes back with the file
 * exactly as fsync'd — overwrites, appends and a truncate replayed from the log on m+1
 * disks. The log survives the loss of m copies; a corrupt tail record is ignored (the
 * fsyncs before it still apply); records of an older generation are never applied,
 * unless a group commit that left their file alone carried them over.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { decodeRecords, LOG_HEADER_BYTES } from '../../src/engine/intent-record';
import { ok } from '../helpers/cli';
import { startCoordinator, stopCoordinator, withMount, type Mounted } from '../helpers/mount';
import { freePort, httpGet, parseExposition } from '../helpers/prometheus';
import { Rng } from '../helpers/random';

const LONG_INTERVAL = 'commit.intervalMs=60000'; // no interval commit during a test: only what fsync did counts
const M = 2; // rs:4+2: the log goes to m+1 = 3 disks

async function kill(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

const logOf = (disk: string) => path.join(disk, 'intent.log');
const logSizes = (m: Mounted) => m.disks.map((d) => (fs.existsSync(logOf(d)) ? fs.statSync(logOf(d)).size : 0));
/** Bytes of the records that verify at the start of each disk's log (the file goes on in zeros written ahead of them). */
const logRecordBytes = (m: Mounted) => m.disks.map((d) => {
  if (!fs.existsSync(logOf(d))) return 0;
  const log = fs.readFileSync(logOf(d));
  // Every record carries the pool's id at bytes 8..24 of its header (docs/FORMAT.md, "Intent log").
  return decodeRecords(log.subarray(8, 24), log).reduce((n, r) => n + LOG_HEADER_BYTES + r.data.length + 32, 0);
});

/**
 * Open a new, empty file made by a rename: the log does not carry a rename, so the first
 * fsync commits the group (a file created through this descriptor would log its name
 * and bytes instead).
 */
function openNew(file: string): number {
  fs.writeFileSync(`${file}.tmp`, '');
  fs.renameSync(`${file}.tmp`, file);
  return fs.openSync(file, 'r+');
}

/** Commit the open group: the first fsync of a file openNew made does. */
function commitGroup(file: string, data = ''): number {
  const fd = openNew(file);
  if (data) fs.writeSync(fd, Buffer.from(data));
  fs.fsyncSync(fd);
  return fd;
}

function pwrite(fd: number, expected: { bytes: Buffer }, pos: number, data: Buffer): void {
  assert.equal(fs.writeSync(fd, data, 0, data.length, pos), data.length);
  const end = Math.max(expected.bytes.length, pos + data.length);
  const next = Buffer.alloc(end);
  expected.bytes.copy(next);
  data.copy(next, pos);
  expected.bytes = next;
}

function ftruncate(fd: number, expected: { bytes: Buffer }, size: number): void {
  fs.ftruncateSync(fd, size);
  const next = Buffer.alloc(size);
  expected.bytes.copy(next, 0, 0, Math.min(size, expected.bytes.length));
  expected.bytes = next;
}

/**
 * A committed 2.5 MiB file (1 MiB extents) kept open, then four fsyncs through the log:
 * an overwrite across an extent boundary, an append, a truncate, a write past the end.
 * Returns the file's content after each fsync; a last write is never fsync'd.
 */
function writeAndFsync(m: Mounted, fd: number): Buffer[] {
  const rng = new Rng(7);
  const expected = { bytes: rng.bytes(2_500_000) };
  assert.equal(fs.writeSync(fd, expected.bytes, 0, expected.bytes.length, 0), expected.bytes.length);
  fs.fsyncSync(fd); // renamed in the open group: the full group commit
  assert.deepEqual(logSizes(m), [0, 0, 0, 0, 0, 0]);
  const states: Buffer[] = [];
  pwrite(fd, expected, 1024 * 1024 - 100, rng.bytes(4096));
  fs.fsyncSync(fd);
  states.push(expected.bytes);
  pwrite(fd, expected, expected.bytes.length, rng.bytes(10_000));
  fs.fsyncSync(fd);
  states.push(expected.bytes);
  ftruncate(fd, expected, 2_000_000);
  fs.fsyncSync(fd);
  states.push(expected.bytes);
  pwrite(fd, expected, 2_100_000, rng.bytes(5000));
  fs.fsyncSync(fd);
  states.push(expected.bytes);
  // Never fsync'd: lost with the coordinator.
  fs.writeSync(fd, Buffer.alloc(1000, 'Z'), 0, 1000, 0);
  return states;
}

/** Remount and check the file; then the logs are empty and gc finds no orphan. */
async function remountAndCheck(m: Mounted, file: string, want: Buffer, replayed: number): Promise<void> {
  const again = await startCoordinator(m.pool, m.mnt);
  try {
    const got = fs.readFileSync(path.join(m.mnt, file));
    assert.equal(got.length, want.length);
    assert.ok(got.equals(want), 'the file is exactly what the last replayable fsync left');
    assert.deepEqual(logSizes(m), [0, 0, 0, 0, 0, 0]);
    const audit = fs.readFileSync(path.join(m.pool, 'run', 'audit.log'), 'utf8').split('\n').filter((l) => l.includes('replay-intent-log'));
    if (replayed === 0) assert.equal(audit.length, 0);
    else assert.equal(JSON.parse(audit[audit.length - 1]!).args.records, replayed);
  } finally {
    await stopCoordinator(m.mnt, again.child);
  }
  assert.equal(ok('gc', m.pool, '--min-age', '0', '--dry-run').orphans.length, 0);
}

/** Records appended by the four fsyncs: one each (the truncate's record carries the new size, so no size record follows). */
const RECORDS = 4;

/** Their bytes in one log: an 80-byte header and a 32-byte BLAKE3 each, and the data (4096 + 10,000 + 0 + 5,000). */
const LOG_BYTES = RECORDS * (80 + 32) + 4096 + 10_000 + 5000;

test('SIGKILL right after fsyncs: overwrites, an append and a truncate come back from the log on m+1 disks', async () => {
  const port = await freePort();
  await withMount(async (m) => {
    const fd = openNew(path.join(m.mnt, 'db'));
    const states = writeAndFsync(m, fd);
    assert.deepEqual(logRecordBytes(m).filter((n) => n > 0), Array(M + 1).fill(LOG_BYTES));
    const live = parseExposition((await httpGet(`http://127.0.0.1:${port}/metrics`)).body);
    assert.equal(live.get('dynamicfs_intent_log_writes_total'), 4);
    assert.equal(live.get('dynamicfs_intent_log_bytes_total'), (M + 1) * LOG_BYTES);
    assert.equal(live.get('dynamicfs_txg_commits_total{reason="fsync"}'), 1); // the new file's first fsync only
    for (const phase of ['prepare', 'packs', 'sync', 'commit', 'copies', 'cleanup']) {
      assert.equal(live.get(`dynamicfs_txg_phase_duration_seconds_count{phase="${phase}"}`), 1, `one commit timed in phase ${phase}`);
    }
    await kill(m.child);
    try { fs.closeSync(fd); } catch { /* the endpoint is gone */ }
    await remountAndCheck(m, 'db', states[states.length - 1]!, RECORDS);
  }, { config: [LONG_INTERVAL], extentSize: '1M', extra: ['--metrics-port', String(port)] });
});

test('the log lost on m disks still replays; a corrupt tail record is ignored and the fsyncs before it apply', async () => {
  await withMount(async (m) => {
    const fd = openNew(path.join(m.mnt, 'db'));
    const states = writeAndFsync(m, fd);
    await kill(m.child);
    try { fs.closeSync(fd); } catch { /* the endpoint is gone */ }
    const holders = m.disks.filter((d) => fs.existsSync(logOf(d)) && fs.statSync(logOf(d)).size > 0);
    assert.equal(holders.length, M + 1);
    // The last fsync's record (5,000 bytes of data, then its 32-byte BLAKE3) is the last of every copy: flip a byte in it.
    for (const d of holders) {
      const log = fs.readFileSync(logOf(d));
      log[LOG_BYTES - 32 - 10]! ^= 0x40;
      fs.writeFileSync(logOf(d), log);
    }
    // And m copies lost outright: one copy is enough.
    for (const d of holders.slice(0, M)) fs.rmSync(logOf(d));
    await remountAndCheck(m, 'db', states[states.length - 2]!, RECORDS - 1);
  }, { config: [LONG_INTERVAL], extentSize: '1M' });
});

test('records of an older generation are never applied', async () => {
  await withMount(async (m) => {
    const p = (n: string) => path.join(m.mnt, n);
    let fd = openNew(p('db'));
    const states = writeAndFsync(m, fd);
    const holders = m.disks.filter((d) => fs.existsSync(logOf(d)) && fs.statSync(logOf(d)).size > 0);
    const saved = holders.map((d) => fs.readFileSync(logOf(d)));
    // Closed, the file joins the open group whole (the write never fsync'd too); another file's fsync commits it, and the logs are emptied.
    fs.closeSync(fd);
    const sizes = logSizes(m);
    fs.closeSync(commitGroup(p('other1')));
    // Emptied in place: the files keep their bytes (the next append overwrites them from the start, its fdatasync changing no size).
    assert.deepEqual(logSizes(m), sizes);
    // Overwrite what the saved records carry, and commit that too.
    const want = Buffer.from(states[states.length - 1]!);
    want.fill('Z', 0, 1000);
    const q = Buffer.alloc(8192, 'Q');
    q.copy(want, 1024 * 1024 - 100);
    fd = fs.openSync(p('db'), 'r+');
    fs.writeSync(fd, q, 0, q.length, 1024 * 1024 - 100);
    fs.fsyncSync(fd);
    await kill(m.child);
    try { fs.closeSync(fd); } catch { /* the endpoint is gone */ }
    // The old records come back (as if their reset had been lost): they name a generation long replaced.
    holders.forEach((d, i) => fs.writeFileSync(logOf(d), saved[i]!));
    await remountAndCheck(m, 'db', want, 0);
  }, { config: [LONG_INTERVAL], extentSize: '1M' });
});

test('group commits that leave a logged file alone carry its records over; SIGKILL after later fsyncs replays both', async () => {
  const port = await freePort();
  await withMount(async (m) => {
    const p = (n: string) => path.join(m.mnt, n);
    const fd = openNew(p('db'));
    const rng = new Rng(3);
    const expected = { bytes: rng.bytes(1_500_000) };
    fs.writeSync(fd, expected.bytes, 0, expected.bytes.length, 0);
    fs.fsyncSync(fd); // renamed in the open group: the full commit
    pwrite(fd, expected, 100_000, rng.bytes(3000));
    fs.fsyncSync(fd); // logged
    const before = logRecordBytes(m);
    // Another file's first fsync commits the group; db has not been committed in it: carried, not rewritten.
    const other = commitGroup(p('other'), 'other');
    // The logs keep the records and gain nothing: the group's own metadata says it carried db.
    assert.equal(before.filter((n) => n > 0).length, M + 1);
    assert.deepEqual(logRecordBytes(m), before);
    pwrite(fd, expected, expected.bytes.length, rng.bytes(7000));
    fs.fsyncSync(fd); // logged on the new generation
    // A third group carries db again: both records stay valid (the run of carrying groups goes on).
    const third = commitGroup(p('third'), 'third');
    fs.writeSync(fd, Buffer.alloc(500, 'Z'), 0, 500, 0); // never fsync'd
    const live = parseExposition((await httpGet(`http://127.0.0.1:${port}/metrics`)).body);
    assert.equal(live.get('dynamicfs_txg_commits_total{reason="fsync"}'), 3);
    assert.equal(live.get('dynamicfs_intent_log_writes_total'), 2);
    await kill(m.child);
    for (const f of [fd, other, third]) try { fs.closeSync(f); } catch { /* the endpoint is gone */ }
    await remountAndCheck(m, 'db', expected.bytes, 2);
    assert.equal(fs.readFileSync(path.join(m.root, 'pool', 'run', 'audit.log'), 'utf8').includes('"replay-intent-log"'), true);
  }, { config: [LONG_INTERVAL], extentSize: '1M', extra: ['--metrics-port', String(port)] });
});

test('fsync of a directory makes an open file\'s writes durable through the log, and the new names through the group', async () => {
  const port = await freePort();
  await withMount(async (m) => {
    const p = (n: string) => path.join(m.mnt, n);
    const fd = openNew(p('db'));
    const expected = { bytes: new Rng(5).bytes(300_000) };
    fs.writeSync(fd, expected.bytes, 0, expected.bytes.length, 0);
    fs.fsyncSync(fd); // renamed in the open group: the full commit
    pwrite(fd, expected, 250_000, Buffer.alloc(100_000, 'd'));
    fs.writeFileSync(p('created'), 'new name');
    const dir = fs.openSync(m.mnt, 'r');
    fs.fsyncSync(dir);
    fs.closeSync(dir);
    const live = parseExposition((await httpGet(`http://127.0.0.1:${port}/metrics`)).body);
    assert.equal(live.get('dynamicfs_intent_log_writes_total'), 1);
    assert.equal(live.get('dynamicfs_txg_commits_total{reason="fsync"}'), 2);
    // Again with nothing new (SQLite's journal syncs its directory right after the commit that took its name): no commit work, no carry record.
    const dirAgain = fs.openSync(m.mnt, 'r');
    fs.fsyncSync(dirAgain);
    fs.closeSync(dirAgain);
    const after = parseExposition((await httpGet(`http://127.0.0.1:${port}/metrics`)).body);
    assert.equal(after.get('dynamicfs_intent_log_bytes_total'), live.get('dynamicfs_intent_log_bytes_total'));
    assert.equal(after.get('dynamicfs_txg_phase_duration_seconds_count{phase="commit"}'), 2);
    assert.equal(after.get('dynamicfs_txg_commits_total{reason="fsync"}'), 2);
    await kill(m.child);
    try { fs.closeSync(fd); } catch { /* the endpoint is gone */ }
    await remountAndCheck(m, 'db', expected.bytes, 1);
    const again = await startCoordinator(m.pool, m.mnt);
    try {
      assert.equal(fs.readFileSync(p('created'), 'utf8'), 'new name');
    } finally {
      await stopCoordinator(m.mnt, again.child);
    }
  }, { config: [LONG_INTERVAL], extentSize: '1M', extra: ['--metrics-port', String(port)] });
});

test('an offline command after the crash replays the log before it runs', async () => {
  await withMount(async (m) => {
    const fd = openNew(path.join(m.mnt, 'db'));
    const states = writeAndFsync(m, fd);
    await kill(m.child);
    try { fs.closeSync(fd); } catch { /* the endpoint is gone */ }
    spawnSync('umount', ['-l', m.mnt]);
    const dest = path.join(m.root, 'db.out');
    ok('get', m.pool, '/db', dest);
    assert.ok(fs.readFileSync(dest).equals(states[states.length - 1]!));
    assert.deepEqual(logSizes(m), [0, 0, 0, 0, 0, 0]);
    const audit = fs.readFileSync(path.join(m.pool, 'run', 'audit.log'), 'utf8').split('\n').filter((l) => l.includes('replay-intent-log')).map((l) => JSON.parse(l));
    assert.deepEqual(audit.map((a) => [a.via, a.args.records, a.args.files]), [['local', RECORDS, 1]]);
  }, { config: [LONG_INTERVAL], extentSize: '1M' });
});

test('a log emptied in place: the next fsync\'s record overwrites the old ones from the start; old ones left intact after it are never applied', async () => {
  await withMount(async (m) => {
    const p = (n: string) => path.join(m.mnt, n);
    let fd = openNew(p('db'));
    const states = writeAndFsync(m, fd);
    fs.closeSync(fd); // joins the open group whole, with the write never fsync'd
    const expected = { bytes: Buffer.from(states[states.length - 1]!) };
    expected.bytes.fill('Z', 0, 1000);
    fs.closeSync(commitGroup(p('other1'))); // nothing carried: the logs are emptied (in place)
    fd = fs.openSync(p('db'), 'r+');
    fs.closeSync(commitGroup(p('other2'))); // db is open at a committed group now: its fsyncs qualify for the log
    pwrite(fd, expected, 500_000, new Rng(9).bytes(4096)); // a record exactly as long as the old first one
    fs.fsyncSync(fd);
    const holder = m.disks.find((d) => fs.existsSync(logOf(d)) && fs.statSync(logOf(d)).size > 0)!;
    const log = fs.readFileSync(logOf(holder));
    const records = decodeRecords(log.subarray(8, 24), log);
    // The new record, then the old second to fourth, intact, naming the generation before the emptying.
    assert.equal(records.length, RECORDS);
    assert.equal(records[0]!.offset, 500_000);
    assert.ok(records.slice(1).every((r) => r.generation < records[0]!.generation), 'the records after the new one are older');
    await kill(m.child);
    try { fs.closeSync(fd); } catch { /* the endpoint is gone */ }
    await remountAndCheck(m, 'db', expected.bytes, 1);
  }, { config: [LONG_INTERVAL], extentSize: '1M' });
});

test('a clean unmount leaves the logs empty (truncated): the next open has nothing to replay', async () => {
  await withMount(async (m) => {
    const fd = openNew(path.join(m.mnt, 'db'));
    const states = writeAndFsync(m, fd);
    fs.closeSync(fd);
    assert.deepEqual(logRecordBytes(m).filter((n) => n > 0), Array(M + 1).fill(LOG_BYTES));
    await stopCoordinator(m.mnt, m.child);
    assert.deepEqual(logSizes(m), [0, 0, 0, 0, 0, 0]);
    const want = Buffer.from(states[states.length - 1]!);
    want.fill('Z', 0, 1000); // the close committed the last write too
    const dest = path.join(m.root, 'db.out');
    ok('get', m.pool, '/db', dest);
    assert.ok(fs.readFileSync(dest).equals(want));
    assert.equal(fs.readFileSync(path.join(m.pool, 'run', 'audit.log'), 'utf8').includes('replay-intent-log'), false);
  }, { config: [LONG_INTERVAL], extentSize: '1M' });
});
