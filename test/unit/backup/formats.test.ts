/**
 * The repository's pure pieces: a pack's trailer read back and refused when damaged,
 * manifest records split across reads and refused when a byte flips, walk order, and
 * which backups prune keeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { comparePaths } from '../../../src/backup/changes';
import { ManifestDecoder, encodeRecord, manifestFileHeader, entryBody, entryFromBody, RecordType, type ManifestEntry } from '../../../src/backup/manifest-format';
import { packHeader, packTrailer, parseFooter, parseIndex, objectHeader, FOOTER_BYTES } from '../../../src/backup/pack-format';
import { selectKept } from '../../../src/backup/prune';
import type { BackupRecord } from '../../../src/backup/backup-state';
import { blake3 } from '../../../src/native';

test('a pack trailer reads back, and a flipped byte in its footer or index is EFORMAT', () => {
  const objects = [Buffer.from('one'), Buffer.from('second object')];
  const parts: Buffer[] = [packHeader()];
  const entries = [];
  let size = 16;
  for (const o of objects) {
    entries.push({ hash: blake3(o), offset: size + 36, length: o.length });
    parts.push(objectHeader(blake3(o), o.length), o);
    size += 36 + o.length;
  }
  const pack = Buffer.concat([...parts, packTrailer(entries, size)]);
  const footer = parseFooter(pack.subarray(pack.length - FOOTER_BYTES), pack.length, 'p');
  assert.equal(footer.indexOffset, size);
  const back = parseIndex(pack.subarray(footer.indexOffset, pack.length - FOOTER_BYTES), footer, 'p');
  assert.deepEqual(back, entries);
  assert.ok(pack.subarray(back[1]!.offset, back[1]!.offset + back[1]!.length).equals(objects[1]!));
  for (const at of [pack.length - 60, pack.length - FOOTER_BYTES - 5]) {
    const bad = Buffer.from(pack);
    bad[at] ^= 1;
    assert.throws(() => {
      const f = parseFooter(bad.subarray(bad.length - FOOTER_BYTES), bad.length, 'p');
      parseIndex(bad.subarray(f.indexOffset, bad.length - FOOTER_BYTES), f, 'p');
    }, { code: 'EFORMAT' });
  }
  assert.throws(() => parseFooter(pack.subarray(pack.length - FOOTER_BYTES), pack.length + 1, 'p'), { code: 'EFORMAT' });
});

const entry = (path: string): ManifestEntry => ({ path, kind: 'file', mode: 0o644, uid: 1, gid: 2, size: 3, atimeMs: 1.5, mtimeMs: 2.25, ctimeMs: 3,
  rdev: 0, target: null, xattrs: [['user.a', Buffer.from([0, 1])]], ino: 9, nlink: 1, link: null, extents: [{ offset: 0, length: 3, hash: blake3(Buffer.from('abc')) }] });

test('manifest records decode across any split of the bytes; a flipped byte is EFORMAT at its record', () => {
  const bytes = Buffer.concat([manifestFileHeader(), encodeRecord(RecordType.Header, { id: 'x' }), encodeRecord(RecordType.Entry, entryBody(entry('a'))),
    encodeRecord(RecordType.Entry, entryBody(entry('b/c')))]);
  for (const cut of [1, 7, 16, 20, 40, bytes.length - 1]) {
    const dec = new ManifestDecoder('m');
    const got = [...dec.push(bytes.subarray(0, cut)), ...dec.push(bytes.subarray(cut))];
    assert.deepEqual(got.map((r) => r.type), [1, 2, 2]);
    assert.deepEqual(entryFromBody(got[2]!.body, 'm'), entry('b/c'));
    assert.equal(dec.leftover, 0);
  }
  const bad = Buffer.from(bytes);
  bad[bytes.length - 30] ^= 0x10;
  const dec = new ManifestDecoder('m');
  assert.throws(() => [...dec.push(bad)], (e: Error & { code?: string; offset?: number }) => e.code === 'EFORMAT' && /fails its BLAKE3 at offset \d+/.test(e.message));
});

test('walk order: a directory\'s contents before a longer name, names by their UTF-8 bytes', () => {
  const paths = ['a.b', 'a/b', 'a', '', 'b', 'a/b/c', '\u{1F600}', '\uFFFD'];
  assert.deepEqual([...paths].sort(comparePaths), ['', 'a', 'a/b', 'a/b/c', 'a.b', 'b', '\uFFFD', '\u{1F600}']);
});

test('walk order is the byte order of the UTF-8 paths with \'/\' as the lowest byte, for any names', () => {
  const key = (p: string): Buffer => Buffer.from(p.replaceAll('/', '\0'), 'utf8');
  const name = fc.string({ unit: fc.oneof(fc.constantFrom('/', '.', 'a', '-', '\uFFFD', '\uE000', '\u{1F600}', '\u{10FFFF}', 'é'), fc.fullUnicode()), maxLength: 6 })
    .filter((s) => !s.includes('\0'));
  fc.assert(fc.property(name, name, (a, b) => Math.sign(comparePaths(a, b)) === Math.sign(Buffer.compare(key(a), key(b)))), { numRuns: 5000 });
});

test('prune keeps the last N and the newest of each of the last N days with a backup, completed ones only', () => {
  const day = 86_400_000;
  const b = (id: string, startedMs: number, state: BackupRecord['state'] = 'completed'): BackupRecord => ({ id, startedMs, state } as BackupRecord);
  const all = [b('d1-a', 1 * day + 1), b('d1-b', 1 * day + 2), b('d2-a', 2 * day + 1), b('d4-a', 4 * day + 1), b('d4-b', 4 * day + 5, 'verified'),
    b('d5-x', 5 * day, 'failed'), b('d5-y', 5 * day + 1, 'in-progress')];
  assert.deepEqual([...selectKept(all, 1, 0)], ['d4-b']);
  assert.deepEqual([...selectKept(all, 0, 2)].sort(), ['d2-a', 'd4-b']);
  assert.deepEqual([...selectKept(all, 2, 3)].sort(), ['d1-b', 'd2-a', 'd4-a', 'd4-b']);
});
