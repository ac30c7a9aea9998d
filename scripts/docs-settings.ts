/**
 * `npm run docs:settings`: write the README's settings and presets tables from the
 * declaration (src/config), between the settings markers. Run it after changing a setting
 * or a preset; the unit test test/unit/config/settings-doc.test.ts fails until it is run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withSettings } from './lib/settings-doc';

const readme = path.resolve(__dirname, '../../README.md');
const before = fs.readFileSync(readme, 'utf8');
const after = withSettings(before);
if (after === before) {
  console.log('README.md: the settings table is up to date');
} else {
  fs.writeFileSync(readme, after);
  console.log('README.md: settings table written');
}
