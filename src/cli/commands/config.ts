/**
 * `dynamicfs config POOL [--set KEY=VALUE ... | --preset NAME] [--dry-run]`,
 * `dynamicfs config export POOL` and `dynamicfs config import POOL FILE [--dry-run]`:
 * the pool's settings (admin/ops/config*.ts; declared in config/settings.ts). `export` and
 * `import` are subcommands, so `config export ...` never reads "export" as a pool: a pool
 * directory of that name is `config ./export`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { ConfigData, ConfigImportData } from '../../admin/ops';
import { PRESETS, PRESET_NAMES } from '../../config/presets';
import { parseTyped } from '../../config/values';
import { DfsError, toDfsError } from '../../errors';
import { table } from '../format';
import type { CliContext } from '../verb';

const show = (v: unknown): string => (v === null ? 'none' : typeof v === 'string' ? v : String(v));

function changesText(changes: ConfigData['changes'], verb: string, dryRun: boolean): string {
  if (changes.length === 0) return 'no changes: every setting already has that value';
  const head = dryRun ? `dry run: ${verb} would change ${changes.length} setting${changes.length === 1 ? '' : 's'} (nothing was changed)`
    : `${verb} changed ${changes.length} setting${changes.length === 1 ? '' : 's'}`;
  return [head, ...changes.map((c) => `  ${c.key}: ${show(c.from)} → ${show(c.to)}`)].join('\n');
}

function render(d: ConfigData): string {
  const rows = d.settings.map((s) => [`${s.changed ? '*' : ' '} ${s.key}`, show(s.value), show(s.default), s.range,
    s.unsafe ? `UNSAFE (safe ${s.safeRange})` : '']);
  const lines = [`pool ${d.pool}  (* differs from the default; dynamicfs config --help says what each does)`,
    table(['  SETTING', 'VALUE', 'DEFAULT', 'VALID', ''], rows)];
  if (d.preset !== null || d.changes.length > 0 || d.dryRun) lines.unshift(changesText(d.changes, d.preset === null ? '--set' : `preset ${d.preset}`, d.dryRun), '');
  return lines.join('\n');
}

function parseSet(pairs: string[]): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  for (const pair of pairs) {
    const m = /^([\w.]+)=(.*)$/s.exec(pair);
    if (!m) throw new DfsError('EUSAGE', `--set ${pair}: write KEY=VALUE, e.g. health.failedErrors=20 or scrub.frequency=nightly`);
    set[m[1]!] = parseTyped(m[2]!);
  }
  return set;
}

/** Options the parent `config` parsed that its subcommands do not take. */
function noParentChanges(cmd: Command, sub: string): void {
  const o = cmd.optsWithGlobals() as { set?: string[]; preset?: string };
  if (o.set !== undefined || o.preset !== undefined) throw new DfsError('EUSAGE', `config ${sub} takes neither --set nor --preset`);
}

export function register(program: Command, ctx: CliContext): void {
  const presets = PRESETS.map((p) => `${p.name} (${p.summary})`).join('; ');
  const cfg = program.command('config')
    .summary('show or change the pool\'s settings; presets; export and import')
    .description('Show every setting of POOL: its value, default, valid range and, where narrower, the safe range '
      + '(diagnose warns outside it). --set KEY=VALUE changes settings (numbers, true/false, names; none clears '
      + 'admin.monitorGroup), all or nothing; --preset NAME puts every setting but admin.monitorGroup on a preset: '
      + `${presets}. --dry-run shows what would change and changes nothing. A running coordinator applies changes `
      + 'at once (health.monitorIntervalMs at its next start). The README\'s settings table says what each setting does.')
    .addHelpText('after', '\nExamples:\n'
      + '  dynamicfs config POOL                       show the settings\n'
      + '  dynamicfs config POOL --set KEY=VALUE ...   change some\n'
      + '  dynamicfs config POOL --preset NAME         apply a preset (with --dry-run: only show its diff)\n'
      + '  dynamicfs config export POOL > f.json       write every setting as a settings file\n'
      + '  dynamicfs config import POOL f.json         set the settings a file holds')
    .argument('<pool>', 'pool directory (a pool directory named "export" or "import": write ./export)')
    .option('--set <key=value...>', 'e.g. --set health.failedErrors=20 commit.intervalMs=2000 scrub.frequency=nightly admin.monitorGroup=998')
    .option('--preset <name>', PRESET_NAMES.join('|'))
    .option('--dry-run', 'show the changes --set, --preset or import would make; change nothing')
    .action(async (pool: string, o: { set?: string[]; preset?: string; dryRun?: boolean }) => {
      if (o.set && o.preset !== undefined) throw new DfsError('EUSAGE', 'give --set or --preset, not both');
      const args = { ...(o.set ? { set: parseSet(o.set) } : {}), ...(o.preset !== undefined ? { preset: o.preset } : {}), dryRun: !!o.dryRun };
      ctx.emit(await invoke(pool, 'config', args), render);
    });

  cfg.command('export')
    .summary('print every setting of POOL as a settings file (JSON)')
    .description('Print every setting of POOL as versioned JSON ({"format": "dynamicfs-settings", "version": 1, '
      + '"settings": {...}}), for `config import` onto this or another pool. With --json the same object also holds "ok": true, '
      + 'which import ignores.')
    .argument('<pool>', 'pool directory')
    .action(async (pool: string, _o: object, cmd: Command) => {
      noParentChanges(cmd, 'export');
      ctx.emit(await invoke(pool, 'config-export', {}), (d) => JSON.stringify(d, null, 2));
    });

  cfg.command('import')
    .summary('set POOL\'s settings from a settings file')
    .description('Set POOL\'s settings from FILE, as `config export` writes it. Every key must be a setting and every value '
      + 'valid, or nothing is changed (EINVAL names the key, the value and the valid range; a file that is not a settings '
      + 'file is EFORMAT). Settings the file leaves out keep their values. One transaction; a running coordinator applies '
      + 'the settings at once. --dry-run (before or after import) only shows the changes.')
    .argument('<pool>', 'pool directory')
    .argument('<file>', 'settings file (JSON)')
    .action(async (pool: string, file: string, _o: object, cmd: Command) => {
      noParentChanges(cmd, 'import');
      const abs = path.resolve(file);
      let content: string;
      try {
        content = fs.readFileSync(abs, 'utf8');
      } catch (err) {
        const e = toDfsError(err);
        throw new DfsError(e.code, `cannot read settings file ${file}: ${e.message}`, abs);
      }
      const dryRun = !!(cmd.optsWithGlobals() as { dryRun?: boolean }).dryRun;
      ctx.emit(await invoke(pool, 'config-import', { file: abs, content, dryRun }),
        (d: ConfigImportData) => changesText(d.changes, `import of ${d.file}`, d.dryRun));
    });
}
