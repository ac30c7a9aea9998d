/**
 * The store's versions for snapshots, against a model: random namespace and extent
 * changes with snapshots taken and deleted among them. Every snapshot's view must stay
 * exactly the live namespace as it was when it was taken; its space figures must equal
 * a count over its view; the changed keys must cover every difference; and deleting
 * snapshots (with their purge) must leave the others' views intact and drop exactly the
 * versions and extents no snapshot sees any more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../../src/meta/sqlite/sqlite-store';
import { newInode, type Extent } from '../../../src/meta/records';
import { LIVE_GEN, ROOT_INO, type MetaStore, type NamespaceView } from '../../../src/meta/store';
import { Rng } from '../../helpers/random';
import { withTmpDir } from '../../helpers/tmp';

/** Everything a view shows, in a comparable form. */
function capture(v: NamespaceView, s: MetaStore): string {
  const out: string[] = [];
  const walk = (ino: number, p: string): void => {
    const i = v.getInode(ino)!;
    const x = [...v.xattrs(ino)].map(([k, b]) => `${k}=${b.toString('hex')}`).join(',');
    const e = v.extentsOf(ino).map((r) => `${r.offset}+${r.length}:${r.id.toString('hex')}`).join(',');
    out.push(`${p} ${i.ino} ${i.kind} ${i.mode} ${i.size} ${i.nlink} ${i.mtimeMs} [${x}] [${e}]`);
    if (i.kind === 'dir') for (const d of v.readdir(ino)) walk(d.ino, `${p}/${d.name}`);
  };
  walk(ROOT_INO, '');
  void s;
  return out.join('\n');
}

const extent = (ino: number, offset: number, length: number, rng: Rng): Extent => ({ id: rng.bytes(16), ino, offset, length, scheme: 'inline', k: 0, m: 0,
  fragLen: 0, logicalHash: rng.bytes(32), inlineData: rng.bytes(4), fragments: [] });

test('snapshot views stay what the namespace was; space, changed keys and purges agree with a model', async () => {
  await withTmpDir((dir) => {
    const seed = Number(process.env.DFS_SEED) || 4242;
    const rng = new Rng(seed);
    const s = openSqliteStore(path.join(dir, 'meta.db'), { create: true });
    const taken = new Map<string, { gen: number; state: string; bytes: number; files: number }>();
    const files: number[] = [];
    const dirs: number[] = [ROOT_INO];
    let names = 0;
    try {
      for (let step = 0; step < 400; step++) {
        const r = rng.int(0, 99);
        if (r < 6) {
          const name = `s${step}`;
          s.transact((tx) => tx.createSnapshot(name, s.generation(), step));
          const live = s.viewAt(LIVE_GEN);
          let bytes = 0;
          for (const f of files) for (const e of s.extentsOf(f)) bytes += e.length;
          taken.set(name, { gen: s.getSnapshot(name)!.gen, state: capture(live, s), bytes, files: files.length });
          continue;
        }
        if (r < 9 && taken.size > 0) {
          const name = [...taken.keys()][rng.int(0, taken.size - 1)]!;
          const range = s.transact((tx) => tx.deleteSnapshot(name));
          taken.delete(name);
          for (let more = true; more;) more = s.transact((tx) => tx.purgeVersions(range, 3)).more;
          continue;
        }
        s.transact((tx) => {
          if (r < 30 || files.length === 0) {
            const ino = tx.allocIno();
            const kind = rng.int(0, 4) === 0 ? 'dir' : 'file';
            tx.putInode(newInode(ino, kind, 0o644, step));
            tx.link(dirs[rng.int(0, dirs.length - 1)]!, `n${names++}`, ino);
            if (kind === 'dir') dirs.push(ino);
            else {
              files.push(ino);
              tx.putExtent(extent(ino, 0, 100, rng));
            }
          } else if (r < 55) {
            const ino = files[rng.int(0, files.length - 1)]!;
            const old = s.extentsOf(ino);
            const at = rng.int(0, old.length);
            const replaced = old.find((e) => e.offset === at * 100);
            if (replaced) tx.dropExtent(replaced.id);
            tx.putExtent(extent(ino, at * 100, 100, rng));
            tx.putInode({ ...s.getInode(ino)!, size: Math.max(s.getInode(ino)!.size, (at + 1) * 100), mtimeMs: step });
          } else if (r < 70) {
            const ino = files[rng.int(0, files.length - 1)]!;
            tx.setXattr(ino, `user.k${rng.int(0, 2)}`, rng.bytes(3));
            if (rng.int(0, 2) === 0) tx.removeXattr(ino, `user.k${rng.int(0, 2)}`);
          } else if (r < 85) {
            const i = rng.int(0, files.length - 1);
            const ino = files[i]!;
            const link = s.parentOf(ino)!;
            tx.unlink(link.parent, link.name);
            tx.dropExtents(ino);
            tx.deleteInode(ino);
            files.splice(i, 1);
          } else {
            const ino = files[rng.int(0, files.length - 1)]!;
            const link = s.parentOf(ino)!;
            tx.unlink(link.parent, link.name);
            tx.link(dirs[rng.int(0, dirs.length - 1)]!, `n${names++}`, ino);
            tx.putInode({ ...s.getInode(ino)!, mode: rng.int(0, 0o777), ctimeMs: step });
          }
        });
      }
      assert.ok(taken.size > 0, `seed ${seed}: the run kept some snapshots`);
      const usage = new Map(s.snapshotUsage().map((u) => [u.name, u]));
      for (const [name, t] of taken) {
        assert.equal(capture(s.viewAt(t.gen), s), t.state, `seed ${seed}: snapshot ${name} shows the namespace as it was`);
        assert.deepEqual([usage.get(name)!.referencedBytes, usage.get(name)!.files], [t.bytes, t.files], `seed ${seed}: ${name}'s space`);
        // Rolling the keys changed since back shows no difference left: every difference is among them.
        const keys = s.changedBetween(t.gen, LIVE_GEN);
        const changed = new Set([...keys.inodes, ...keys.xattrInodes, ...keys.extentInodes]);
        const then = s.viewAt(t.gen), now = s.viewAt(LIVE_GEN);
        for (const ino of [...files, ...dirs]) {
          if (changed.has(ino)) continue;
          assert.deepEqual([now.getInode(ino), now.xattrs(ino), now.extentsOf(ino).map((e) => e.id.toString('hex'))],
            [then.getInode(ino), then.xattrs(ino), then.extentsOf(ino).map((e) => e.id.toString('hex'))], `seed ${seed}: inode ${ino} unchanged`);
        }
      }
      // With every snapshot gone and purged, no version and no ended extent remains.
      for (const name of taken.keys()) {
        const range = s.transact((tx) => tx.deleteSnapshot(name));
        for (let more = true; more;) more = s.transact((tx) => tx.purgeVersions(range, 3)).more;
      }
      assert.deepEqual(s.spaceByOwner().snapshotOnlyBytes, 0, `seed ${seed}`);
      const raw = new Database(path.join(dir, 'meta.db'), { readonly: true });
      try {
        assert.deepEqual(raw.prepare(`SELECT (SELECT COUNT(*) FROM snap_inodes) AS i, (SELECT COUNT(*) FROM snap_dirents) AS d,
          (SELECT COUNT(*) FROM snap_xattrs) AS x, (SELECT COUNT(*) FROM extents WHERE died IS NOT NULL) AS e`).get(), { i: 0, d: 0, x: 0, e: 0 }, `seed ${seed}`);
      } finally {
        raw.close();
      }
    } finally {
      s.close();
    }
  });
});

test('a revived extent is its file\'s again at once, also in the cached map; one a later snapshot must not see is not revived', async () => {
  await withTmpDir((dir) => {
    const rng = new Rng(99);
    const s = openSqliteStore(path.join(dir, 'meta.db'), { create: true });
    try {
      const ino = s.transact((tx) => {
        const n = tx.allocIno();
        tx.putInode(newInode(n, 'file', 0o644, 1, { size: 100 }));
        tx.link(ROOT_INO, 'f', n);
        return n;
      });
      const e1 = extent(ino, 0, 100, rng);
      s.transact((tx) => tx.putExtent(e1));
      s.transact((tx) => tx.createSnapshot('s', s.generation(), 1));
      const e2 = extent(ino, 0, 100, rng);
      s.transact((tx) => {
        assert.deepEqual(tx.dropExtent(e1.id), [], 'the snapshot keeps it: no fragments to delete');
        tx.putExtent(e2);
      });
      assert.deepEqual(s.extentsOf(ino).map((e) => e.id), [e2.id]); // the file's map is cached now
      s.transact((tx) => {
        tx.dropExtent(e2.id);
        assert.equal(tx.reviveExtent(e1.id), true);
      });
      assert.deepEqual(s.extentsOf(ino).map((e) => e.id), [e1.id]);
      // Ended again, then a snapshot taken while it was ended: reviving it would show it to that snapshot.
      s.transact((tx) => { tx.dropExtent(e1.id); });
      s.transact((tx) => tx.createSnapshot('later', s.generation(), 2));
      s.transact((tx) => assert.equal(tx.reviveExtent(e1.id), false));
      assert.deepEqual(s.extentsOf(ino), []);
      assert.deepEqual(s.viewAt(s.getSnapshot('s')!.gen).extentsOf(ino).map((e) => e.id), [e1.id]);
    } finally {
      s.close();
    }
  });
});
