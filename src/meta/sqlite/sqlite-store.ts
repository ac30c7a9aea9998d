/**
 * The SQLite metadata store: POOL/meta.db, one writer. It composes the aggregate modules
 * (namespace, extents, disks, jobs, config) over one connection into a MetaStore.
 */
import * as path from 'node:path';
import { DfsError } from '../../errors';
import type { MetaStore, OpenMetaStore, Txn, TxnWrites } from '../store';
import { openConnection } from './connection';
import { configReads, configWrites } from './config';
import { diskReads, diskWrites } from './disks';
import { ExtentMapCache } from './extent-maps';
import { extentReads, extentWrites } from './extents';
import { jobReads, jobWrites } from './jobs';
import { NamespaceCache, namespaceReads, namespaceWrites } from './namespace';
import { scanReads } from './scan';
import { bumpMeta, metaValue } from './sql';
import { beginGroupTxn, beginTxn } from './txn';

/** The store's file inside a pool directory. */
export const META_DB = 'meta.db';

/** Open (or with create, create) the store at `file`; readonly opens a reader that never upgrades. */
export function openSqliteStore(file: string, opts: { create?: boolean; readonly?: boolean } = {}): MetaStore {
  const conn = openConnection(file, opts);
  const { db, sql } = conn;
  const cache = new NamespaceCache();
  const maps = new ExtentMapCache();
  const writes: TxnWrites = { ...namespaceWrites(sql, cache), ...extentWrites(sql, maps), ...diskWrites(sql), ...jobWrites(sql), ...configWrites(sql) };
  let txnOpen = false;
  // Transaction groups: `grouping` on, every Txn is a savepoint of one SQLite transaction (`groupOpen`).
  let grouping = false;
  let groupOpen = false;
  let groupBeganMs = 0;
  const generation = (): number => Number(metaValue(sql, 'generation'));
  const store: MetaStore = {
    ...namespaceReads(sql, cache),
    ...scanReads(sql),
    ...extentReads(sql, maps),
    ...diskReads(sql),
    ...jobReads(sql),
    ...configReads(sql),
    onCommit: undefined,
    generation,
    begin(): Txn {
      if (txnOpen) throw new DfsError('EINTERNAL', 'a metadata transaction is already open');
      let tx: Txn;
      if (grouping) {
        if (!groupOpen) {
          sql('BEGIN IMMEDIATE').run();
          groupOpen = true;
          groupBeganMs = performance.now();
        }
        tx = beginGroupTxn(conn, writes, () => {
          txnOpen = false;
          if (!db.inTransaction) groupOpen = false; // SQLite rolled the whole group back (I/O error, full disk)
        }, () => generation() + 1);
      } else {
        tx = beginTxn(conn, writes, () => { txnOpen = false; }, (c) => store.onCommit?.(c));
      }
      txnOpen = true;
      // A rollback undoes writes the namespace and extent-map caches have already seen.
      const abort = tx.abort.bind(tx);
      tx.abort = () => {
        abort();
        cache.clear();
        maps.clear();
      };
      return tx;
    },
    setGrouping(on: boolean): void {
      if (!on) store.commitGroup();
      grouping = on;
    },
    groupPending: () => groupOpen,
    commitGroup(): number | undefined {
      if (!groupOpen) return undefined;
      if (txnOpen) throw new DfsError('EINTERNAL', 'cannot commit a transaction group while one of its transactions is open');
      const started = performance.now();
      bumpMeta(sql, 'generation');
      sql('COMMIT').run();
      groupOpen = false;
      const committed = generation();
      const ended = performance.now();
      try {
        store.onCommit?.({ generation: committed, commitSeconds: (ended - started) / 1000, heldSeconds: (ended - groupBeganMs) / 1000 });
      } catch {
        // An observer must never turn a durable commit into an error.
      }
      return committed;
    },
    transact<T>(fn: (tx: Txn) => T): T {
      const tx = store.begin();
      try {
        const out = fn(tx);
        tx.commit();
        return out;
      } catch (err) {
        tx.abort();
        throw err;
      }
    },
    close() {
      if (db.open) db.close();
    },
  };
  return store;
}

/** The Pool's opener for SQLite: POOL/meta.db. */
export const sqliteStore: OpenMetaStore = (poolDir, { create }) => openSqliteStore(path.join(poolDir, META_DB), { create });
