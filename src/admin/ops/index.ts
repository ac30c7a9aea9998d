/**
 * Every admin operation, by the name the CLI verb and the admin socket use. Each is
 * `(engine, args, ctx) => Promise<plain data>` (see ../context.ts); the CLI calls it
 * through admin/client.ts `invoke`, which runs it here when no coordinator holds the
 * pool and sends it to the coordinator otherwise. Adding an operation is one file and
 * one line here.
 *
 * `init` is not here: before it runs there is no pool for a coordinator to hold.
 */
import type { Engine } from '../../engine/engine';
import type { AdminOp, OpContext } from '../context';
import { addDisk } from './add-disk';
import { benchmark } from './benchmark';
import { disks } from './disks';
import { gc } from './gc';
import { get } from './get';
import { ls } from './ls';
import { mkdir } from './mkdir';
import { mv } from './mv';
import { put } from './put';
import { rm } from './rm';
import { stat } from './stat';
import { status } from './status';

export const adminOps = {
  status,
  disks,
  'add-disk': addDisk,
  ls,
  mkdir,
  mv,
  rm,
  stat,
  gc,
  put,
  get,
  benchmark,
};

export type AdminOps = typeof adminOps;
export type OpName = keyof AdminOps;
export type OpArgs<K extends OpName> = AdminOps[K] extends AdminOp<infer A, unknown> ? A : never;
export type OpResult<K extends OpName> = AdminOps[K] extends AdminOp<never, infer R> ? R : never;

export function isOpName(name: string): name is OpName {
  return Object.prototype.hasOwnProperty.call(adminOps, name);
}

/** Run `name` with arguments that arrived as untyped data (each op checks its own). */
export function runOp(name: OpName, engine: Engine, args: Record<string, unknown>, ctx: OpContext): Promise<unknown> {
  return (adminOps[name] as AdminOp<Record<string, unknown>, unknown>)(engine, args, ctx);
}

export type { StatusData, PoolHealth, ExtentHealth } from './status';
export type { DisksData } from './disks';
export type { AddDiskArgs, AddDiskData } from './add-disk';
export type { LsArgs, LsData } from './ls';
export type { MkdirArgs, MkdirData } from './mkdir';
export type { MvArgs, MvData } from './mv';
export type { RmArgs, RmData } from './rm';
export type { StatArgs, StatData } from './stat';
export type { GcArgs, GcData } from './gc';
export type { PutArgs, PutData } from './put';
export type { GetArgs, GetData } from './get';
export type { BenchmarkArgs, BenchmarkData } from './benchmark';
