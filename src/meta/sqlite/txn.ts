/**
 * The SQLite write transaction: BEGIN IMMEDIATE (the one writer holds the lock from
 * there), the aggregates' writes, and a COMMIT that bumps the generation.
 */
import { DfsError } from '../../errors';
import type { CommitInfo } from '../records';
import type { Txn, TxnWrites } from '../store';
import type { Connection } from './connection';
import { bumpMeta, metaValue } from './sql';

/**
 * Begin a transaction over `writes`. Each write first checks the transaction is still
 * open; `onEnd` runs when it commits or aborts, `committed` after a commit.
 */
export function beginTxn({ db, sql }: Connection, writes: TxnWrites, onEnd: () => void, committed: (c: CommitInfo) => void): Txn {
  sql('BEGIN IMMEDIATE').run();
  return txnOver(sql, writes, onEnd, {
    commit() {
      const started = performance.now();
      bumpMeta(sql, 'generation');
      sql('COMMIT').run();
      return started;
    },
    rollback() {
      if (db.inTransaction) sql('ROLLBACK').run();
    },
  }, committed);
}

/**
 * A Txn inside an open transaction group: a savepoint. Its commit releases the savepoint
 * (nothing is durable until the group commits) and returns the generation the group
 * will commit as; its abort undoes this Txn only.
 */
export function beginGroupTxn({ db, sql }: Connection, writes: TxnWrites, onEnd: () => void, nextGeneration: () => number): Txn {
  sql('SAVEPOINT op').run();
  return txnOver(sql, writes, onEnd, {
    commit() {
      sql('RELEASE SAVEPOINT op').run();
      return undefined;
    },
    rollback() {
      // SQLite rolls the whole transaction back on some errors (I/O, a full disk): then there is no savepoint left.
      if (!db.inTransaction) return;
      sql('ROLLBACK TO SAVEPOINT op').run();
      sql('RELEASE SAVEPOINT op').run();
    },
  }, undefined, nextGeneration);
}

interface Ending {
  /** Returns when the durable commit started, or undefined for a savepoint. */
  commit(): number | undefined;
  rollback(): void;
}

function txnOver(sql: Connection['sql'], writes: TxnWrites, onEnd: () => void, ending: Ending,
  committed?: (c: CommitInfo) => void, nextGeneration?: () => number): Txn {
  const beganMs = performance.now();
  let done = false;
  const check = (): void => {
    if (done) throw new DfsError('EINTERNAL', 'metadata transaction already ended');
  };
  const end = (): void => {
    done = true;
    onEnd();
  };
  const guarded: Record<string, unknown> = {};
  for (const [name, write] of Object.entries(writes) as [string, (...args: unknown[]) => unknown][]) {
    guarded[name] = (...args: unknown[]) => {
      check();
      return write(...args);
    };
  }
  const control: Pick<Txn, 'commit' | 'abort'> = {
    commit() {
      check();
      const started = ending.commit();
      end();
      if (started === undefined) return nextGeneration!();
      const generation = Number(metaValue(sql, 'generation'));
      const ended = performance.now();
      try {
        committed?.({ generation, commitSeconds: (ended - started) / 1000, heldSeconds: (ended - beganMs) / 1000 });
      } catch {
        // An observer must never turn a durable commit into an error.
      }
      return generation;
    },
    abort() {
      if (done) return;
      ending.rollback();
      end();
    },
  };
  return Object.assign(guarded as unknown as TxnWrites, control);
}
