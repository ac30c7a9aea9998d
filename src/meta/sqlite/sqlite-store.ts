/**
 * The SQLite metadata store: POOL/meta.db, one writer. It composes the aggregate modules
 * (namespace, extents, disks, jobs, config) over one connection into a MetaStore.
 */
import * as path from 'node:path';
import { DfsError } from '../../errors';
import { RedoRecorder } from '../redo-log';
import type { MetaStore, OpenMetaStore, Txn } from '../store';
import { openConnection } from './connection';
import { configReads, configWrites } from './config';
import { DiskCache, diskReads, diskWrites } from './disks';
import { ExtentMapCache } from './extent-maps';
import { extentReads, extentWrites } from './extents';
import { jobReads, jobWrites } from './jobs';
import { NamespaceCache, namespaceReads, namespaceWrites } from './namespace';
import { recordCopies } from './record-copies';
import { scanReads } from './scan';
import { snapshotReads, snapshotWrites } from './snapshots';
import { Versions } from './versions';
import { bumpMeta, metaValue } from './sql';
import { beginGroupTxn, beginTxn } from './txn';
import { vacuumInto, vacuumInWorker } from './vacuum';

/** The store's file inside a pool directory. */
export const META_DB = 'meta.db';

/** Open (or with create, create) the store at `file`; readonly opens a reader that never upgrades. */
export function openSqliteStore(file: string, opts: { create?: boolean; readonly?: boolean } = {}): MetaStore {
  const conn = openConnection(file, opts);
  const { db, sql } = conn;
  const cache = new NamespaceCache();
  const maps = new ExtentMapCache();
  const disks = new DiskCache();
  // Every write is recorded for the pool's on-disk redo log (redo-log.ts).
  const recorder = new RedoRecorder();
  const versions = new Versions(sql);
  const extentWriter = extentWrites(sql, maps, versions);
  const writes = recorder.wrap({ ...namespaceWrites(sql, cache, versions), ...extentWriter, ...diskWrites(sql, disks), ...jobWrites(sql),
    ...configWrites(sql), ...snapshotWrites(sql, versions, extentWriter.collectExtent) });
  let txnOpen = false;
  // Transaction groups: `grouping` on, every Txn is a savepoint of one SQLite transaction (`groupOpen`).
  let grouping = false;
  let groupOpen = false;
  /** Transactions committed (into the group or on their own) since the store was opened. */
  let transactions = 0;
  let groupBeganMs = 0;
  const generation = (): number => Number(metaValue(sql, 'generation'));
  const reads = { ...namespaceReads(sql, cache), ...extentReads(sql, maps) };
  const store: MetaStore = {
    ...reads,
    ...scanReads(sql),
    ...diskReads(sql, disks),
    ...jobReads(sql),
    ...configReads(sql),
    ...snapshotReads(sql),
    // Inside an open transaction group the restored rows join it (a savepoint), like any other write there.
    ...recordCopies(sql, (fn) => db.transaction(fn)(), reads, () => {
      cache.clear();
      maps.clear();
      disks.clear();
    }),
    onCommit: undefined,
    onGeneration: undefined,
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
          if (db.inTransaction) return;
          groupOpen = false; // SQLite rolled the whole group back (I/O error, full disk)
          versions.forget();
          recorder.groupAborted();
          // Savepoints released earlier in the group are undone too: nothing cached from them stands.
          cache.clear();
          maps.clear();
          disks.clear();
        }, () => generation() + 1);
      } else {
        tx = beginTxn(conn, writes, () => { txnOpen = false; }, (c) => store.onCommit?.(c));
      }
      txnOpen = true;
      const commit = tx.commit.bind(tx);
      tx.commit = () => {
        const g = commit();
        transactions++;
        recorder.txnCommitted();
        // Without groups this was a COMMIT: the generation is whole.
        if (!grouping) {
          // The next transaction writes in the next generation (inside a group, every savepoint shares one).
          versions.forget();
          const payload = recorder.take(); // taken even with no listener: the next generation starts empty
          store.onGeneration?.(g, payload);
        }
        return g;
      };
      // A rollback undoes writes the namespace and extent-map caches have already seen.
      const abort = tx.abort.bind(tx);
      tx.abort = () => {
        abort();
        versions.forget();
        recorder.txnAborted();
        cache.clear();
        maps.clear();
        disks.clear();
      };
      return tx;
    },
    setGrouping(on: boolean): void {
      if (!on) store.commitGroup();
      grouping = on;
    },
    groupPending: () => groupOpen,
    transactions: () => transactions,
    setDurableCommits(on: boolean): void {
      // NORMAL in WAL mode: a COMMIT appends to the WAL without fsync; the WAL is synced before each checkpoint.
      db.pragma(`synchronous = ${on ? 'FULL' : 'NORMAL'}`);
    },
    makeDurable(): void {
      // A FULL checkpoint syncs the WAL (every commit in it) before it copies the pages back.
      db.pragma('wal_checkpoint(FULL)');
    },
    commitGroup(): number | undefined {
      if (!groupOpen) return undefined;
      if (txnOpen) throw new DfsError('EINTERNAL', 'cannot commit a transaction group while one of its transactions is open');
      const started = performance.now();
      bumpMeta(sql, 'generation');
      sql('COMMIT').run();
      groupOpen = false;
      versions.forget();
      const committed = generation();
      const payload = recorder.take();
      store.onGeneration?.(committed, payload);
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
    copyTo: (target: string) => vacuumInto(file, target),
    copyToInWorker: (target: string) => vacuumInWorker(file, target),
    checkStructure(): string[] {
      const rows = db.pragma('quick_check') as { quick_check: string }[];
      return rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    },
    close() {
      if (db.open) db.close();
    },
  };
  return store;
}

/** The Pool's opener for SQLite: POOL/meta.db. */
export const sqliteStore: OpenMetaStore = (poolDir, { create }) => openSqliteStore(path.join(poolDir, META_DB), { create });
