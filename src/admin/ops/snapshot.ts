/**
 * `snapshot create|list|delete|hold|release|diff|rollback|clone`: the pool's snapshots
 * (fs/snapshots.ts over the store's versions). Deleting one is a persistent job (the
 * purge of what only it saw: engine/snapshot-purge.ts), created in the deletion's own
 * transaction.
 */
import { DfsError } from '../../errors';
import type { Engine } from '../../engine/engine';
import { cloneSnapshot, createSnapshot, diffGenerations, rollback, snapshotNamed, type CloneResult, type DiffEntry, type RollbackResult } from '../../fs/snapshots';
import { LIVE_GEN, type SpaceByOwner } from '../../meta/store';
import { bool, optStr, str } from '../args';
import type { AdminOp } from '../context';
import { runJob, type JobOutcome } from '../job-op';

export interface SnapshotInfo {
  name: string;
  /** Its identity, 32 hex digits: the sender's for a received snapshot (an incremental stream names its base by it). */
  guid: string;
  /** Where its tree is in this pool: '/', or the path a received snapshot was received at. */
  root: string;
  generation: number;
  createdMs: number;
  held: boolean;
  referencedBytes: number;
  uniqueBytes: number;
  files: number;
}

export interface SnapshotListData {
  snapshots: SnapshotInfo[];
  space: SpaceByOwner;
}

export const snapshotList: AdminOp<Record<string, never>, SnapshotListData> = async (engine) => {
  const usage = new Map(engine.meta.snapshotUsage().map((u) => [u.name, u]));
  const snapshots = engine.meta.snapshots().map((s) => {
    const u = usage.get(s.name);
    return { name: s.name, guid: s.guid.toString('hex'), root: s.root, generation: s.gen, createdMs: s.createdMs, held: s.held, referencedBytes: u?.referencedBytes ?? 0,
      uniqueBytes: u?.uniqueBytes ?? 0, files: u?.files ?? 0 };
  });
  return { snapshots, space: engine.meta.spaceByOwner() };
};

export interface SnapshotNameArgs {
  name: string;
}

export const snapshotCreate: AdminOp<SnapshotNameArgs, SnapshotInfo> = async (engine, args) => {
  const s = await createSnapshot(engine, str('snapshot-create', args, 'name'));
  const u = engine.meta.snapshotUsage().find((x) => x.name === s.name);
  return { name: s.name, guid: s.guid.toString('hex'), root: s.root, generation: s.gen, createdMs: s.createdMs, held: s.held, referencedBytes: u?.referencedBytes ?? 0, uniqueBytes: u?.uniqueBytes ?? 0,
    files: u?.files ?? 0 };
};

export interface SnapshotDeleteArgs extends SnapshotNameArgs {
  wait?: boolean;
}

export interface SnapshotDeleteData extends Partial<JobOutcome> {
  name: string;
}

export const snapshotDelete: AdminOp<SnapshotDeleteArgs, SnapshotDeleteData> = async (engine, args, ctx) => {
  const name = str('snapshot-delete', args, 'name');
  const wait = args.wait === undefined ? true : bool('snapshot-delete', args, 'wait');
  snapshotNamed(engine.meta, name);
  const id = deleteSnapshot(engine, name, ctx.reqId);
  if (id === undefined) return { name };
  return { name, ...(await runJob(engine, ctx, id, wait, `purging ${name}`)) };
};

/**
 * Remove snapshot `name` in one transaction with the purge job of what only it saw
 * (queued once committed; undefined when there is nothing to purge). EBUSY when held.
 * Also the schedules' pruning (snapshot-scheduler.ts).
 */
export function deleteSnapshot(engine: Engine, name: string, reqId?: string): number | undefined {
  const id = engine.meta.transact((tx) => {
    const range = tx.deleteSnapshot(name);
    // Another snapshot of the same generation saw all it saw: nothing to purge.
    return range.after === range.gen ? undefined : engine.jobs.createIn(tx, 'snapshot-purge', { snapshot: name, range }, undefined, reqId);
  });
  if (id !== undefined) engine.jobs.queued(id);
  return id;
}

export interface SnapshotHoldData {
  name: string;
  held: boolean;
}

const holdOp = (held: boolean): AdminOp<SnapshotNameArgs, SnapshotHoldData> => async (engine, args) => {
  const name = str(held ? 'snapshot-hold' : 'snapshot-release', args, 'name');
  engine.meta.transact((tx) => tx.setSnapshotHeld(name, held));
  return { name, held };
};

export const snapshotHold = holdOp(true);
export const snapshotRelease = holdOp(false);

export interface SnapshotDiffArgs {
  from: string;
  /** A later snapshot; the live tree when absent. */
  to?: string;
}

export interface SnapshotDiffData {
  from: string;
  to: string | null;
  changes: DiffEntry[];
}

export const snapshotDiff: AdminOp<SnapshotDiffArgs, SnapshotDiffData> = async (engine, args) => {
  const a = snapshotNamed(engine.meta, str('snapshot-diff', args, 'from'));
  const toName = optStr('snapshot-diff', args, 'to');
  const b = toName === undefined ? undefined : snapshotNamed(engine.meta, toName);
  if (b && b.gen < a.gen) {
    throw new DfsError('EINVAL', `snapshot "${b.name}" is older than "${a.name}": give the older one first (snapshot diff POOL ${b.name} ${a.name})`);
  }
  return { from: a.name, to: b?.name ?? null, changes: diffGenerations(engine.meta, a.gen, b?.gen ?? LIVE_GEN) };
};

export interface SnapshotRollbackArgs extends SnapshotNameArgs {
  path?: string;
}

export const snapshotRollback: AdminOp<SnapshotRollbackArgs, RollbackResult> = async (engine, args) =>
  rollback(engine, str('snapshot-rollback', args, 'name'), optStr('snapshot-rollback', args, 'path'));

export interface SnapshotCloneArgs {
  /** NAME or NAME/PATH inside it. */
  source: string;
  dest: string;
}

export const snapshotClone: AdminOp<SnapshotCloneArgs, CloneResult> = async (engine, args) => {
  const source = str('snapshot-clone', args, 'source');
  const slash = source.indexOf('/');
  const name = slash < 0 ? source : source.slice(0, slash);
  const from = slash < 0 ? '/' : source.slice(slash);
  return cloneSnapshot(engine, name, from, str('snapshot-clone', args, 'dest'));
};
