/**
 * The README's settings and presets tables, rendered from the declaration
 * (src/config/settings.ts, src/config/presets.ts). scripts/docs-settings.ts writes them
 * between the markers; test/unit/config/settings-doc.test.ts fails when they differ.
 */
import { PRESET_KEEPS, PRESETS } from '../../src/config/presets';
import { SETTINGS, safeRange } from '../../src/config/settings';

export const BEGIN = '<!-- settings:begin (npm run docs:settings writes this table from src/config) -->';
export const END = '<!-- settings:end -->';

const cell = (s: string): string => s.replace(/\|/g, '\\|');
const val = (v: unknown): string => `\`${v === null ? 'none' : String(v)}\``;

export function settingsMarkdown(): string {
  const rows = SETTINGS.map((s) => `| \`${s.key}\` | ${val(s.default)} | ${cell(s.range)} | ${cell(safeRange(s) ?? '')} | ${cell(s.reason)}; applies ${cell(s.applies)} |`);
  const presets = PRESETS.map((p) => {
    const o = Object.entries(p.overrides);
    return `| \`${p.name}\` | ${cell(p.summary)} | ${o.length === 0 ? 'none: every setting on its default' : o.map(([k, x]) => `\`${k}=${String(x.value)}\`: ${cell(x.why)}`).join('<br>')} |`;
  });
  return [
    '| Setting | Default | Valid | Safe | What it does |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `A preset sets every setting but ${PRESET_KEEPS.map((k) => `\`${k}\``).join(', ')}: its default unless the preset overrides it.`,
    '',
    '| Preset | For | Overrides (why) |',
    '|---|---|---|',
    ...presets,
  ].join('\n');
}

/** `readme` with the text between the markers replaced; throws if the markers are missing. */
export function withSettings(readme: string): string {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a === -1 || b < a) throw new Error(`README.md lacks the markers ${BEGIN} ... ${END}`);
  return `${readme.slice(0, a + BEGIN.length)}\n${settingsMarkdown()}\n${readme.slice(b)}`;
}
