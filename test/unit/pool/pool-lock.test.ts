/**
 * EPOOLBUSY names the lock's holder even in the instant before the holder has written
 * its PID into POOL/lock (the kernel's lock table says who holds it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PoolLock } from '../../../src/pool/pool-lock';
import { dfs } from '../../helpers/cli';
import { withTmpDir } from '../../helpers/tmp';

test('EPOOLBUSY names the holder from the lock table, also while POOL/lock is still empty', async () => {
  await withTmpDir((dir) => {
    const pool = path.join(dir, 'pool');
    assert.equal(dfs('init', pool).code, 0);
    const lock = PoolLock.acquire(pool);
    try {
      fs.truncateSync(path.join(pool, 'lock'), 0); // as if we had not written our PID yet
      const r = dfs('status', pool);
      assert.equal(r.code, 1);
      assert.equal(r.json?.error.code, 'EPOOLBUSY');
      assert.equal(r.json?.error.pid, process.pid);
      assert.match(r.json?.error.message, new RegExp(`in use by PID ${process.pid};`));
    } finally {
      lock.release();
    }
  });
});
