/**
 * pool.json through the CLI: `init` writes it once, `add-disk` and `remove-disk` leave it
 * alone (the disk registry is meta.db's), and a superblock written by older code, which
 * carries a `disks` list under its checksum, still opens; damage to that list is caught.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { sealJson } from '../../src/pool/durable-file';
import { dfs } from '../helpers/cli';
import { withTmpDir } from '../helpers/tmp';

test('pool.json changes only to keep its diskPaths hint in step with add-disk and remove-disk, and when a feature turns active', async () => {
  await withTmpDir((dir) => {
    const pool = path.join(dir, 'pool');
    assert.equal(dfs('init', pool).code, 0);
    const read = (): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(pool, 'pool.json'), 'utf8')) as Record<string, unknown>;
    const { checksum: _c0, diskPaths: p0, ...before } = read();
    assert.deepEqual(Object.keys(read()), ['format', 'uuid', 'createdMs', 'policy', 'extentSize', 'inlineMax', 'features', 'diskPaths', 'checksum']);
    assert.deepEqual(p0, []);
    assert.equal(before.format, 2);
    assert.deepEqual(before.features, { 'metadata-copies': 'enabled', 'packed-extents': 'enabled', 'intent-log': 'enabled' });
    // The first disk gets a metadata copy: from then on the pool depends on the feature (it stays active).
    const active = { ...before, features: { 'metadata-copies': 'active', 'packed-extents': 'enabled', 'intent-log': 'enabled' } };
    const disk = path.join(dir, 'd0');
    fs.mkdirSync(disk);
    assert.equal(dfs('add-disk', pool, disk).code, 0);
    const { checksum: _c1, diskPaths: p1, ...added } = read();
    assert.deepEqual(added, active);
    assert.deepEqual(p1, [disk]);
    assert.equal(dfs('status', pool).code, 0);
    assert.deepEqual(read().diskPaths, [disk], 'opening does not rewrite it');
    assert.equal(dfs('remove-disk', pool, '1').code, 0);
    const { checksum: _c2, diskPaths: p2, ...removed } = read();
    assert.deepEqual(removed, active);
    assert.deepEqual(p2, []);
    assert.equal(fs.existsSync(path.join(disk, 'meta')), false, 'the metadata copy leaves with the label');
  });
});

test('a superblock with the old disks list opens; a changed list fails its checksum', async () => {
  await withTmpDir((dir) => {
    const pool = path.join(dir, 'pool');
    assert.equal(dfs('init', pool).code, 0);
    const file = path.join(pool, 'pool.json');
    const { checksum: _, ...body } = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    const old = { ...body, disks: [{ uuid: '7f0c3a55-2a7e-4d8e-9d55-0c1d2e3f4a5b', path: '/srv/d0', tier: 'warm' }] };
    fs.writeFileSync(file, sealJson(old));
    const ok = dfs('status', pool);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.json!.uuid, body.uuid);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('/srv/d0', '/srv/d9'));
    const bad = dfs('status', pool);
    assert.equal(bad.code, 1);
    assert.equal(bad.json!.error.code, 'EFORMAT');
  });
});
