/** Pool path parsing: what the CLI cannot even pass (NUL) and the edge cases of slashes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DfsError } from '../../../src/errors';
import { joinPath, parsePath } from '../../../src/fs/paths';

function rejects(p: string, re: RegExp, code = 'EINVAL'): void {
  assert.throws(() => parsePath(p), (e: unknown) => e instanceof DfsError && e.code === code && e.path === p && re.test(e.message));
}

test('absolute and relative spellings mean the same path', () => {
  assert.deepEqual(parsePath('/a/b'), ['a', 'b']);
  assert.deepEqual(parsePath('a/b'), ['a', 'b']);
  assert.deepEqual(parsePath('a/b/'), ['a', 'b'], 'one trailing slash, as shells add');
  assert.deepEqual(parsePath('/'), []);
  assert.equal(joinPath(parsePath('x/y/')), '/x/y');
  assert.deepEqual(parsePath(`/${'z'.repeat(255)}`), ['z'.repeat(255)]);
  assert.deepEqual(parsePath('/ spaced name/ü'), [' spaced name', 'ü']);
});

test('empty components, dot names and NUL are EINVAL, over-long names ENAMETOOLONG, naming the path', () => {
  rejects('', /empty path/);
  rejects('//', /empty component/);
  rejects('a//b', /empty component/);
  rejects('a/b//', /empty component/);
  rejects('/a/./b', /"\."/);
  rejects('../a', /"\.\."/);
  rejects('a\0b', /NUL/);
  rejects(`/${'z'.repeat(256)}`, /longer than 255 bytes/, 'ENAMETOOLONG');
  rejects(`/${'€'.repeat(86)}`, /longer than 255 bytes/, 'ENAMETOOLONG'); // 258 bytes in 86 characters
});
