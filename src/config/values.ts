/**
 * The settings' values: read from the store with the declaration's defaults, and changes
 * checked against it. Reading is forgiving (a stored value this version cannot read falls
 * back to the default rather than stop the pool serving); changing is strict (every value
 * is checked, with the key, the value and the valid range named, before anything is kept).
 */
import * as v from 'valibot';
import { DfsError } from '../errors';
import { CROSS_CHECKS, SETTINGS, SETTING_KEYS, settingOf, splitKey, type SettingSpec, type SettingValue } from './settings';

/** Where settings are stored: the metadata store (MetaStore has this method). */
export interface ConfigSource {
  getConfig<T>(name: string): T | undefined;
}

export type Settings = ReadonlyMap<string, SettingValue>;

/** The value of every setting (of one section): the stored one where present and valid, else the default. */
export function currentSettings(src: ConfigSource, only?: string): Map<string, SettingValue> {
  const sections = new Map<string, Record<string, unknown>>();
  const out = new Map<string, SettingValue>();
  for (const spec of SETTINGS) {
    const { section, name } = splitKey(spec.key);
    if (only !== undefined && section !== only) continue;
    if (!sections.has(section)) {
      const stored = src.getConfig<unknown>(section);
      sections.set(section, stored !== null && typeof stored === 'object' ? stored as Record<string, unknown> : {});
    }
    const stored = sections.get(section)!;
    const raw = Object.prototype.hasOwnProperty.call(stored, name) ? stored[name] : undefined;
    const parsed = raw === undefined ? undefined : v.safeParse(spec.schema, raw);
    out.set(spec.key, parsed?.success ? parsed.output : spec.default);
  }
  return out;
}

/** One section's values by name (the typed readers: healthConfig, groupSettings, ...). */
export function sectionSettings<T>(src: ConfigSource, section: string): T {
  const all = currentSettings(src, section);
  return Object.fromEntries([...all].filter(([k]) => splitKey(k).section === section).map(([k, v]) => [splitKey(k).name, v])) as T;
}

/** A value for messages (never throws, whatever arrived). */
export function showValue(v: unknown): string {
  try {
    return typeof v === 'string' ? JSON.stringify(v) : String(JSON.stringify(v) ?? typeof v);
  } catch {
    return `(${typeof v})`;
  }
}

/** The value checked against its setting; EINVAL naming the key, the value and the valid range. */
export function checkValue(spec: SettingSpec, value: unknown, prefix: string): SettingValue {
  const r = v.safeParse(spec.schema, value);
  if (r.success) return r.output;
  const shown = `${prefix}${spec.key}=${showValue(value)}`;
  if (spec.bounds && typeof value === 'number' && Number.isInteger(value)) {
    throw new DfsError('EINVAL', `${shown} is outside ${spec.range}`);
  }
  throw new DfsError('EINVAL', `${shown} is not valid: ${spec.key} takes ${spec.takes}`);
}

/**
 * The settings after `changes` (key → value, untyped), all checked: an unknown key, a bad
 * value or a broken rule across settings (thresholds that must rise) throws EINVAL and
 * nothing is returned to store.
 */
export function applyChanges(current: Settings, changes: Record<string, unknown>, prefix: string): Map<string, SettingValue> {
  const next = new Map(current);
  for (const [key, value] of Object.entries(changes)) {
    const spec = settingOf(key);
    if (!spec) throw new DfsError('EINVAL', `${prefix}unknown setting ${showValue(key)}; the settings are ${SETTING_KEYS.join(', ')}`);
    next.set(key, checkValue(spec, value, prefix));
  }
  for (const rule of CROSS_CHECKS) {
    const broken = rule(next);
    if (broken !== null) throw new DfsError('EINVAL', `${prefix}${broken}`);
  }
  return next;
}

/** The keys whose values differ between two sets of settings, in declaration order. */
export function diffSettings(from: Settings, to: Settings): { key: string; from: SettingValue; to: SettingValue }[] {
  return SETTING_KEYS.filter((k) => !Object.is(from.get(k), to.get(k))).map((k) => ({ key: k, from: from.get(k)!, to: to.get(k)! }));
}

/**
 * A value typed on the command line (`--set key=value`), as the JSON value it stands for:
 * a number, true/false, null/none, or else the text itself. The setting's schema judges it.
 */
export function parseTyped(text: string): SettingValue {
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null' || text === 'none') return null;
  return text;
}
