import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addon } from '../../src/native';
import { NATIVE_EXPORTS } from '../../src/native/types';

test('the addon exports exactly the declared surface', () => {
  assert.deepEqual(Object.keys(addon).sort(), [...NATIVE_EXPORTS].sort());
});
