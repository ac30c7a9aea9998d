/** `config-export`: every setting of the pool as a versioned settings file (config/settings-file.ts). Read-only. */
import { settingsFile, type SettingsFile } from '../../config/settings-file';
import { currentSettings } from '../../config/values';
import type { AdminOp } from '../context';

export type ConfigExportData = SettingsFile;

export const configExport: AdminOp<Record<string, never>, ConfigExportData> = async (engine) => settingsFile(engine.pool.dir, currentSettings(engine.meta));
