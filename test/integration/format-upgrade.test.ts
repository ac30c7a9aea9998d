/**
 * Pools written by older DynamicFS (test/fixtures/README.md says how and from which
 * commit) open with today's CLI: every file reads back byte-identical, the metadata store
 * is upgraded in place (every record checksummed, so every listing verifies), and a
 * format-1 store, which had no record of verification, counts every extent as verified
 * from the upgrade on (the backfill), so coverage starts full. The pool format itself
 * stays 1 here (upgrade.test.ts moves it to the current one).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ok } from '../helpers/cli';
import { FIXTURE_FORMATS, patterned as pattern, readsBack, withFixture } from '../helpers/fixtures';
import { withTmpDir } from '../helpers/tmp';

for (const format of FIXTURE_FORMATS) {
  test(`a ${format} pool from older code opens, reads back byte-identical and scrubs clean`, async () => {
    await withFixture(format, (pool) => withTmpDir((dir) => {
      const before = Date.now();
      const status = ok('status', pool);
      assert.equal(status.health, 'healthy');
      assert.equal(status.generation, 11);
      assert.deepEqual(status.namespace, { files: 4, dirs: 2, bytes: 16384 + 100123 + 20000 + `hello from format ${format}\n`.length });
      assert.deepEqual(status.extents, { total: 5, healthy: 5, degraded: 0, unrecoverable: 0, inline: 2, lostFiles: [] });
      // Every extent counts as verified: format 1 by the upgrade's backfill (stamped now),
      // formats 2 to 4 by the record its own writes made when the fixture was built.
      // (Within 24 h only for the backfill: the others' stamps age with the fixture.)
      const cov = status.scrub.coverage;
      assert.equal(cov.extents, 5);
      if (format === 'format1') assert.equal(cov.verifiedWithinPeriod, 5);
      assert.equal(cov.unverified, 0);
      const backfilled = format === 'format1';
      assert.equal(cov.oldestVerifiedMs >= before, backfilled,
        `format 1 is stamped verified by the upgrade, format 2 keeps its write-time stamps (${cov.oldestVerifiedMs} vs ${before})`);
      readsBack(pool, format, dir);
      // Every record gained its checksum in the upgrade (schema 5): the disks, their events and the meta values verify.
      assert.deepEqual((ok('disks', pool).disks as { state: string }[]).map((d) => d.state), Array(6).fill('healthy'));
      const events = ok('disk-events', pool).events as { source: string }[];
      assert.deepEqual(events.map((e) => e.source), Array(format === 'format1' ? 0 : 6).fill('pool'), 'format 1 kept no disk events');
      assert.deepEqual((ok('ls', pool, '/').entries as { name: string }[]).map((e) => e.name), ['inline-16k.bin', 'large.bin', 'small.txt', 'sub']);
      const scrub = ok('scrub', pool);
      assert.deepEqual(scrub.extents, { total: 5, checked: 5, inline: 2, damaged: 0, repaired: 0, unrepaired: 0 });
      assert.deepEqual(scrub.fragments, { checked: 18, bad: 0 });
      // The upgraded store takes new writes in today's format, and the old files survive them.
      const extra = path.join(dir, 'extra.bin');
      fs.writeFileSync(extra, pattern(70000, (i) => (i * 3) % 256));
      ok('put', pool, extra, '/extra.bin');
      assert.equal(ok('status', pool).extents.total, 7);
      readsBack(pool, format, dir);
    }));
  });
}
