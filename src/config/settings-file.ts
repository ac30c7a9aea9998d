/**
 * The settings file `config export` writes and `config import` reads: versioned JSON,
 *   { "format": "dynamicfs-settings", "version": 1, "settings": { "KEY": VALUE, ... } }
 * (plus "pool" and "exportedAt", informational). Reading checks only the envelope
 * (EFORMAT naming the file); the settings themselves are checked as `--set` checks them.
 */
import * as v from 'valibot';
import { DfsError } from '../errors';
import { SETTING_KEYS, type SettingValue } from './settings';
import type { Settings } from './values';

export const SETTINGS_FORMAT = 'dynamicfs-settings';
export const SETTINGS_VERSION = 1;

export interface SettingsFile {
  format: typeof SETTINGS_FORMAT;
  version: number;
  pool: string;
  exportedAt: string;
  settings: Record<string, SettingValue>;
}

export function settingsFile(pool: string, values: Settings, now = new Date()): SettingsFile {
  return { format: SETTINGS_FORMAT, version: SETTINGS_VERSION, pool, exportedAt: now.toISOString(),
    settings: Object.fromEntries(SETTING_KEYS.map((k) => [k, values.get(k)!])) };
}

const envelope = v.object({
  format: v.literal(SETTINGS_FORMAT),
  version: v.pipe(v.number(), v.integer()),
  settings: v.record(v.string(), v.unknown()),
});

/** The settings a file holds, unchecked; EFORMAT naming `file` when it is not a settings file this version reads. */
export function readSettingsFile(text: string, file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new DfsError('EFORMAT', `${file} is not JSON (${(err as Error).message}); write it with dynamicfs config export POOL > FILE`, file);
  }
  const r = v.safeParse(envelope, doc);
  if (!r.success) {
    const issue = r.issues[0];
    throw new DfsError('EFORMAT', `${file} is not a dynamicfs settings file: ${v.getDotPath(issue) ?? 'the document'}: ${issue.message} `
      + `(expected {"format": "${SETTINGS_FORMAT}", "version": ${SETTINGS_VERSION}, "settings": {...}}, as config export writes)`, file);
  }
  if (r.output.version !== SETTINGS_VERSION) {
    throw new DfsError('EFORMAT', `${file} is settings file version ${r.output.version}; this dynamicfs reads version ${SETTINGS_VERSION}`, file);
  }
  // The document's own entries: a "__proto__" key stays a key (and is refused as unknown).
  return Object.fromEntries(Object.entries((doc as { settings: object }).settings));
}
