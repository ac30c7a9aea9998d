/**
 * Name changes in the intent log, through the mount: an fsync of a file created in the
 * open group logs its name (and the group's unlinks before it) instead of committing the
 * group — SQLite's rollback journal, created, fsync'd and unlinked per transaction, costs
 * no group commit — and a coordinator SIGKILLed right after comes back with exactly those
 * names and bytes. A group with a change the log does not carry (mkdir, rename) commits.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ok } from '../helpers/cli';
import { startCoordinator, stopCoordinator, withMount, type Mounted } from '../helpers/mount';
import { freePort, httpGet, parseExposition } from '../helpers/prometheus';
import { Rng } from '../helpers/random';

const LONG_INTERVAL = 'commit.intervalMs=60000'; // no interval commit during a test: only what fsync did counts

async function kill(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function metrics(port: number): Promise<Map<string, number>> {
  return parseExposition((await httpGet(`http://127.0.0.1:${port}/metrics`)).body);
}

/** After SIGKILL: remount, run fn on the mount, unmount; then check finds nothing wrong and gc no orphan. */
async function afterCrash(m: Mounted, fn: () => void): Promise<Record<string, unknown>> {
  await kill(m.child);
  const again = await startCoordinator(m.pool, m.mnt);
  try {
    fn();
  } finally {
    await stopCoordinator(m.mnt, again.child);
  }
  assert.deepEqual(ok('check', m.pool).problems, []);
  assert.equal(ok('gc', m.pool, '--min-age', '0', '--dry-run').orphans.length, 0);
  const audit = fs.readFileSync(path.join(m.pool, 'run', 'audit.log'), 'utf8').split('\n').filter((l) => l.includes('replay-intent-log'));
  assert.equal(audit.length, 1, 'one replay');
  return JSON.parse(audit[0]!).args as Record<string, unknown>;
}

test('a rollback journal per transaction: created, fsync\'d, its directory synced, unlinked — no group commit; SIGKILL keeps exactly the fsync\'d names and bytes', async () => {
  const port = await freePort();
  await withMount(async (m) => {
    const p = (n: string) => path.join(m.mnt, n);
    const rng = new Rng(11);
    // The database: made by a rename (which the log does not carry), so its first fsync commits the group.
    fs.writeFileSync(p('db.tmp'), rng.bytes(8192));
    fs.renameSync(p('db.tmp'), p('db'));
    const db = fs.openSync(p('db'), 'r+');
    fs.fsyncSync(db);
    const committed = (await metrics(port)).get('dynamicfs_txg_commits_total{reason="fsync"}');
    assert.equal(committed, 1);
    const dbBytes = Buffer.from(fs.readFileSync(p('db')));
    let journal: Buffer = Buffer.alloc(0);
    for (let t = 0; t < 3; t++) {
      journal = rng.bytes(512 + 1000 * t);
      const j = fs.openSync(p('db-journal'), 'wx');
      fs.writeSync(j, journal, 0, journal.length, 0);
      fs.fsyncSync(j);
      fsyncDir(m.mnt);
      if (t === 2) break; // the crash comes with the third journal hot: written and synced, the database not yet
      const page = rng.bytes(4096);
      fs.writeSync(db, page, 0, page.length, 4096);
      page.copy(dbBytes, 4096);
      fs.fsyncSync(db);
      fs.closeSync(j);
      fs.unlinkSync(p('db-journal'));
    }
    const live = await metrics(port);
    assert.equal(live.get('dynamicfs_txg_commits_total{reason="fsync"}'), 1, 'no group commit after the first');
    // Per transaction: the journal's fsync (its name, the unlink before it, its bytes) and the database's.
    assert.equal(live.get('dynamicfs_intent_log_writes_total'), 5);
    const replayed = await afterCrash(m, () => {
      assert.ok(fs.readFileSync(p('db')).equals(dbBytes), 'the database as its last fsync left it');
      assert.ok(fs.readFileSync(p('db-journal')).equals(journal), 'the third journal, not an earlier one');
      assert.deepEqual(fs.readdirSync(m.mnt).sort(), ['db', 'db-journal']);
      assert.equal(fs.statSync(m.mnt).nlink, 2);
    });
    // Three journals created, two unlinked.
    assert.equal(replayed.names, 5);
    assert.equal(replayed.skipped, 0);
  }, { config: [LONG_INTERVAL], extra: ['--metrics-port', String(port)] });
});

test('a directory synced after an unlink logs the unlink (SQLite\'s synchronous=EXTRA); after a file written and closed unsynced it commits the group', async () => {
  const port = await freePort();
  await withMount(async (m) => {
    const p = (n: string) => path.join(m.mnt, n);
    fs.writeFileSync(p('keep.tmp'), 'keep');
    fs.writeFileSync(p('gone.tmp'), 'gone');
    fs.renameSync(p('keep.tmp'), p('keep'));
    fs.renameSync(p('gone.tmp'), p('gone'));
    fsyncDir(m.mnt); // a rename in the group: it commits
    assert.equal((await metrics(port)).get('dynamicfs_txg_commits_total{reason="fsync"}'), 1);
    fs.unlinkSync(p('gone'));
    fsyncDir(m.mnt);
    let live = await metrics(port);
    assert.equal(live.get('dynamicfs_txg_commits_total{reason="fsync"}'), 1, 'the unlink went to the log');
    assert.equal(live.get('dynamicfs_intent_log_writes_total'), 1);
    // A new file written and closed: its bytes are in the group only, so syncing its directory commits the group.
    fs.writeFileSync(p('late'), 'late bytes');
    fsyncDir(m.mnt);
    live = await metrics(port);
    assert.equal(live.get('dynamicfs_txg_commits_total{reason="fsync"}'), 2);
    // So does an existing file rewritten and closed unsynced (as on ext4, where the directory's fsync commits the journal).
    fs.writeFileSync(p('late'), 'later bytes');
    fsyncDir(m.mnt);
    live = await metrics(port);
    assert.equal(live.get('dynamicfs_txg_commits_total{reason="fsync"}'), 3);
    fs.unlinkSync(p('keep'));
    fsyncDir(m.mnt);
    live = await metrics(port);
    assert.equal(live.get('dynamicfs_txg_commits_total{reason="fsync"}'), 3);
    assert.equal(live.get('dynamicfs_intent_log_writes_total'), 2);
    const replayed = await afterCrash(m, () => {
      assert.deepEqual(fs.readdirSync(m.mnt).sort(), ['late']);
      assert.equal(fs.readFileSync(p('late'), 'utf8'), 'later bytes');
    });
    assert.equal(replayed.names, 1);
  }, { config: [LONG_INTERVAL], extra: ['--metrics-port', String(port)] });
});

test('a change the log does not carry (mkdir, rename) in the open group: a new file\'s fsync commits the group; logged again after it', async () => {
  const port = await freePort();
  await withMount(async (m) => {
    const p = (n: string) => path.join(m.mnt, n);
    const commits = async () => (await metrics(port)).get('dynamicfs_txg_commits_total{reason="fsync"}') ?? 0;
    fs.mkdirSync(p('d'));
    const a = fs.openSync(p('d/a'), 'wx');
    fs.writeSync(a, Buffer.from('a in d'));
    fs.fsyncSync(a); // d is new: the log cannot make it durable
    assert.equal(await commits(), 1);
    const b = fs.openSync(p('d/b'), 'wx');
    fs.writeSync(b, Buffer.from('b in d'));
    fs.fsyncSync(b); // only b's name since the commit: logged
    assert.equal(await commits(), 1);
    fs.writeFileSync(p('x'), 'x');
    fs.renameSync(p('x'), p('d/x'));
    const c = fs.openSync(p('d/c'), 'wx');
    fs.writeSync(c, Buffer.from('c in d'));
    fs.fsyncSync(c); // a rename in the group: commits (x's rename with it)
    assert.equal(await commits(), 2);
    const e = fs.openSync(p('d/e'), 'wx');
    const eBytes = new Rng(3).bytes(300_000);
    fs.writeSync(e, eBytes);
    fs.fsyncSync(e);
    assert.equal(await commits(), 2);
    fs.writeSync(e, Buffer.from('never synced'), 0, 12, 0);
    const replayed = await afterCrash(m, () => {
      assert.deepEqual(fs.readdirSync(p('d')).sort(), ['a', 'b', 'c', 'e', 'x']);
      for (const n of ['a', 'b', 'c']) assert.equal(fs.readFileSync(p(`d/${n}`), 'utf8'), `${n} in d`);
      assert.equal(fs.readFileSync(p('d/x'), 'utf8'), 'x');
      assert.ok(fs.readFileSync(p('d/e')).equals(eBytes));
      assert.equal(fs.statSync(p('d/e')).mode & 0o777, fs.statSync(p('d/c')).mode & 0o777);
    });
    assert.equal(replayed.names, 1); // e's create (b's was committed by c's fsync)
    for (const fd of [a, b, c, e]) try { fs.closeSync(fd); } catch { /* the endpoint is gone */ }
  }, { config: [LONG_INTERVAL], extra: ['--metrics-port', String(port)] });
});

test('unlink of one of two hard links, then a new file under the freed name: replay keeps the other link and its bytes', async () => {
  await withMount(async (m) => {
    const p = (n: string) => path.join(m.mnt, n);
    fs.writeFileSync(p('data'), 'linked bytes');
    fs.linkSync(p('data'), p('alias'));
    fsyncDir(m.mnt); // a link in the group: it commits
    fs.unlinkSync(p('data'));
    const fd = fs.openSync(p('data'), 'wx', 0o600);
    fs.writeSync(fd, Buffer.from('the new data'));
    fs.fsyncSync(fd);
    const newIno = fs.fstatSync(fd).ino;
    const replayed = await afterCrash(m, () => {
      assert.equal(fs.readFileSync(p('alias'), 'utf8'), 'linked bytes');
      assert.equal(fs.statSync(p('alias')).nlink, 1);
      assert.equal(fs.readFileSync(p('data'), 'utf8'), 'the new data');
      const st = fs.statSync(p('data'));
      assert.equal(st.ino, newIno);
      assert.equal(st.mode & 0o777, 0o600);
      // The next new file gets a number of its own.
      fs.writeFileSync(p('next'), 'n');
      assert.ok(fs.statSync(p('next')).ino > newIno);
    });
    assert.equal(replayed.names, 2);
    try { fs.closeSync(fd); } catch { /* the endpoint is gone */ }
  }, { config: [LONG_INTERVAL] });
});
