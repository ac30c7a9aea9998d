import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DfsError, ErrorCodes, toDfsError } from '../../src/errors';

// Compiled to dist/test/unit: the repo root is three levels up.
const root = path.resolve(__dirname, '../../..');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(p);
    return d.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every code literal src/ hands to DfsError or puts in a `code:` field. */
function codesInSource(): Set<string> {
  const found = new Set<string>();
  for (const file of sourceFiles(path.join(root, 'src'))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/DfsError\(\s*'([A-Z0-9_]+)'|code: '(E[A-Z0-9_]+)'/g)) found.add(m[1] ?? m[2]!);
  }
  return found;
}

test('every code literal in src/ is in ErrorCodes', () => {
  const found = codesInSource();
  const listed = new Set<string>(ErrorCodes);
  assert.deepEqual([...found].filter((c) => !listed.has(c)), []);
  // The scan itself works: codes known to be thrown are seen.
  assert.equal(found.has('EUSAGE'), true);
  assert.equal(found.has('ENODEV'), true);
});

test("every ErrorCodes entry has a row in the README's Error codes table", () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Error codes\n');
  assert.notEqual(start, -1);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const rows = [...section.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...rows].sort(), [...ErrorCodes].sort());
});

test('toDfsError maps an unlisted code to EIO and keeps the original in details.osCode', () => {
  const err = Object.assign(new Error('boom'), { code: 'EWHATEVER', path: '/x' });
  const d = toDfsError(err);
  assert.equal(d.code, 'EIO');
  assert.equal(d.message, 'boom');
  assert.equal(d.path, '/x');
  assert.deepEqual(d.details, { osCode: 'EWHATEVER' });
  assert.deepEqual(d.toJSON(), { code: 'EIO', message: 'boom', path: '/x', osCode: 'EWHATEVER' });
});

test('toDfsError keeps a listed code, a DfsError, and makes EINTERNAL of the rest', () => {
  const listed = toDfsError(Object.assign(new Error('full'), { code: 'ENOSPC' }));
  assert.equal(listed.code, 'ENOSPC');
  assert.equal(listed.details, undefined);
  const own = new DfsError('EPOOLBUSY', 'held');
  assert.equal(toDfsError(own), own);
  assert.equal(toDfsError(new Error('no code')).code, 'EINTERNAL');
  assert.equal(toDfsError('a string').code, 'EINTERNAL');
});
