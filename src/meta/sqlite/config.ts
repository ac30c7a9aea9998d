/** Pool settings in SQLite: JSON text under meta key `config.<name>` (verified on read, as every meta value). */
import type { ConfigReads, ConfigWrites } from '../store';
import { metaValue, putMeta, type Sql } from './sql';

export function configReads(sql: Sql): ConfigReads {
  return {
    getConfig<T>(name: string): T | undefined {
      const v = metaValue(sql, `config.${name}`);
      return typeof v === 'string' ? (JSON.parse(v) as T) : undefined;
    },
  };
}

export function configWrites(sql: Sql): ConfigWrites {
  return {
    setConfig(name, value) {
      putMeta(sql, `config.${name}`, JSON.stringify(value));
    },
  };
}
