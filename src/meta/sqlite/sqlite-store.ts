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
import { extentReads, extentWrites } from './extents';
import { jobReads, jobWrites } from './jobs';
import { namespaceReads, namespaceWrites } from './namespace';
import { metaValue } from './sql';
import { beginTxn } from './txn';

/** The store's file inside a pool directory. */
export const META_DB = 'meta.db';

/** Open (or with create, create) the store at `file`; readonly opens a reader that never upgrades. */
export function openSqliteStore(file: string, opts: { create?: boolean; readonly?: boolean } = {}): MetaStore {
  const conn = openConnection(file, opts);
  const { db, sql } = conn;
  const writes: TxnWrites = { ...namespaceWrites(sql), ...extentWrites(sql), ...diskWrites(sql), ...jobWrites(sql), ...configWrites(sql) };
  let txnOpen = false;
  const store: MetaStore = {
    ...namespaceReads(sql),
    ...extentReads(sql),
    ...diskReads(sql),
    ...jobReads(sql),
    ...configReads(sql),
    onCommit: undefined,
    generation: () => Number(metaValue(sql, 'generation')),
    begin(): Txn {
      if (txnOpen) throw new DfsError('EINTERNAL', 'a metadata transaction is already open');
      const tx = beginTxn(conn, writes, () => { txnOpen = false; }, (c) => store.onCommit?.(c));
      txnOpen = true;
      return tx;
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
