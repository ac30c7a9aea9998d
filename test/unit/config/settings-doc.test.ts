/** The README's settings table is the declaration's (npm run docs:settings writes it). */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { SETTINGS } from '../../../src/config/settings';
import { BEGIN, END, settingsMarkdown, withSettings } from '../../../scripts/lib/settings-doc';

const root = path.resolve(__dirname, '../../../..');

test("the README's settings table matches the declaration (else run npm run docs:settings)", () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  assert.equal(withSettings(readme), readme, 'README.md differs from src/config: run npm run docs:settings');
  const table = readme.slice(readme.indexOf(BEGIN), readme.indexOf(END));
  for (const s of SETTINGS) assert.ok(table.includes(`| \`${s.key}\` |`), `${s.key} has a row`);
});

test('a table that drifted from the declaration is caught', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const drifted = readme.replace('| `commit.intervalMs` | `5000` |', '| `commit.intervalMs` | `4000` |');
  assert.notEqual(drifted, readme);
  assert.notEqual(withSettings(drifted), drifted);
  assert.ok(settingsMarkdown().includes('| `commit.intervalMs` | `5000` | 100..60000 | 100..30000 |'));
});
