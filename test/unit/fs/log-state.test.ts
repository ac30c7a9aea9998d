/**
 * What the intent log must carry of a file (fs/log-state.ts): merged ranges, the lowest
 * truncate, an overflow past a thousand scattered ranges, and what a group commit leaves
 * to be logged again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Delta, LogState } from '../../../src/fs/log-state';

describe('log state', () => {
  it('merges overlapping and touching ranges, keeps the lowest truncate', () => {
    const d = new Delta();
    d.add(100, 200);
    d.add(200, 250); // touches: one range
    d.add(0, 10);
    d.add(500, 600);
    d.add(5, 120); // joins the first two
    d.truncate(400);
    d.truncate(450);
    assert.deepEqual(d.ranges, [[0, 250], [500, 600]]);
    assert.equal(d.truncatedTo, 400);
    assert.equal(d.bytes, 350);
    assert.equal(d.empty, false);
    assert.equal(new Delta().empty, true);
  });

  it('gives up on the ranges past a thousand scattered ones', () => {
    const d = new Delta();
    for (let i = 0; i < 1025; i++) d.add(i * 10, i * 10 + 1);
    assert.equal(d.overflow, true);
    assert.deepEqual(d.ranges, []);
    assert.equal(d.union(new Delta()).overflow, true);
  });

  it('after a group commit, logs again what no metadata transaction has recorded', async () => {
    const s = new LogState();
    s.wrote(0, 100);
    assert.deepEqual(s.take().ranges, [[0, 100]]); // logged
    s.wrote(1000, 10);
    await s.capture(async () => {
      s.wrote(2000, 10); // during the file's commit: not recorded by it
    });
    s.groupCommitted(false);
    assert.deepEqual(s.take().ranges, [[2000, 2010]]);
    // A commit that fails leaves its writes to be logged again.
    s.wrote(3000, 10);
    await assert.rejects(s.capture(async () => { throw new Error('EIO'); }));
    s.groupCommitted(false);
    assert.deepEqual(s.take().ranges, [[2000, 2010], [3000, 3010]]);
  });

  it('is carried over only while the open group has not committed it, and holds its commits meanwhile', async () => {
    const s = new LogState();
    s.wrote(0, 100);
    assert.equal(s.carriable, true);
    s.holdCommits();
    let committed = false;
    const commit = s.capture(async () => { committed = true; });
    await new Promise((r) => setImmediate(r));
    assert.equal(committed, false, 'a commit waits while the group carries the file');
    s.groupCommitted(true);
    assert.deepEqual(s.take().ranges, [[0, 100]], 'carried: what was not logged yet is still to log, nothing more');
    s.releaseCommits();
    await commit;
    assert.equal(committed, true);
    assert.equal(s.carriable, false, 'committed in the open group: the next group takes it whole');
    s.groupCommitted(false);
    assert.equal(s.carriable, true);
  });
});
