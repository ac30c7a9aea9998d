/**
 * `config-import`: set the pool's settings from a settings file's text (as `config export`
 * writes it). The file must be a settings file this version reads (EFORMAT naming it),
 * every key a setting and every value valid (EINVAL naming the file, the key, the value
 * and the valid range); only then is anything stored, in one transaction, and applied by a
 * running coordinator at once. Settings the file leaves out keep their values.
 */
import { readSettingsFile } from '../../config/settings-file';
import { bool, str } from '../args';
import type { AdminOp } from '../context';
import { applyPlan, planChanges, type SettingChange } from '../settings-change';

export interface ConfigImportArgs {
  /** The file's name, for messages. */
  file: string;
  /** The file's text (the CLI reads it: the coordinator may not be able to). */
  content: string;
  dryRun?: boolean;
}

export interface ConfigImportData {
  pool: string;
  file: string;
  changes: SettingChange[];
  dryRun: boolean;
  applied: boolean;
}

export const configImport: AdminOp<ConfigImportArgs, ConfigImportData> = async (engine, args) => {
  const file = str('config-import', args, 'file');
  const content = str('config-import', args, 'content');
  const dryRun = bool('config-import', args, 'dryRun');
  const plan = planChanges(engine, readSettingsFile(content, file), `config import ${file}: `);
  if (!dryRun) applyPlan(engine, plan);
  return { pool: engine.pool.dir, file, changes: plan.changes, dryRun, applied: !dryRun && plan.changes.length > 0 };
};
