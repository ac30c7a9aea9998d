/**
 * What a write needs to keep versions for snapshots (schema.ts VERSIONS): the generation
 * it writes in (a new row's `born`, an ended row's `died`) and the newest snapshot's
 * generation (a row with born at or below it is seen by a snapshot and is kept before it
 * changes). Both are cached until a COMMIT, an abort or a change to the snapshots' records
 * (the store calls forget()), so the savepoints of one group share them.
 */
import { metaValue, corrupt, type Sql } from './sql';

export class Versions {
  private cur: number | undefined;
  private newest: number | undefined;

  constructor(private readonly sql: Sql) {}

  /** The generation the open transaction (or group) commits as. */
  writing(): number {
    if (this.cur === undefined) {
      const g = metaValue(this.sql, 'generation');
      if (typeof g !== 'number') throw corrupt(this.sql, 'meta', 'key generation');
      this.cur = g + 1;
    }
    return this.cur;
  }

  /** The newest snapshot's generation, or -1 without snapshots. */
  newestSnapshot(): number {
    if (this.newest === undefined) {
      this.newest = (this.sql('SELECT MAX(gen) AS g FROM snapshots').get() as { g: number | null }).g ?? -1;
    }
    return this.newest;
  }

  /** Whether a live row written in generation `born` is seen by a snapshot (and must be kept before it changes). */
  seen(born: number): boolean {
    return born <= this.newestSnapshot();
  }

  /** Whether a snapshot sees a version that lived in generations [born, died). */
  seenBetween(born: number, died: number): boolean {
    return !!this.sql('SELECT 1 FROM snapshots WHERE gen >= ? AND gen < ? LIMIT 1').get(born, died);
  }

  /** A COMMIT or an abort, or the snapshots changed: read both again when next asked. */
  forget(): void {
    this.cur = undefined;
    this.newest = undefined;
  }
}
