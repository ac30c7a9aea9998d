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
import { backupCreate } from './backup-create';
import { backupRestore } from './backup-restore';
import { benchmark } from './benchmark';
import { check } from './check';
import { config } from './config';
import { configExport } from './config-export';
import { configImport } from './config-import';
import { diagnose } from './diagnose';
import { diskEvents } from './disk-events';
import { disks } from './disks';
import { drain } from './drain';
import { events } from './events';
import { gc } from './gc';
import { get } from './get';
import { health } from './health';
import { jobs } from './jobs';
import { ls } from './ls';
import { metrics } from './metrics';
import { mkdir } from './mkdir';
import { mv } from './mv';
import { probeDisksOp } from './probe-disks';
import { put } from './put';
import { rebuild } from './rebuild';
import { compact } from './compact';
import { removeDisk } from './remove-disk';
import { replaceDisk } from './replace-disk';
import { rm } from './rm';
import { scrub } from './scrub';
import { send } from './send';
import { receive, receiveStatus } from './receive';
import { scrubDaemon } from './scrub-daemon';
import { scrubSchedule } from './scrub-schedule';
import { setDiskHealth } from './set-disk-health';
import { snapshotSchedule } from './snapshot-schedule';
import { snapshotClone, snapshotCreate, snapshotDelete, snapshotDiff, snapshotHold, snapshotList, snapshotRelease, snapshotRollback } from './snapshot';
import { stat } from './stat';
import { status } from './status';
import { tierMigrate } from './tier-migrate';
import { tierPolicy } from './tier-policy';
import { tierStatus } from './tier-status';
import { upgrade } from './upgrade';

export const adminOps = {
  status,
  health,
  diagnose,
  metrics,
  disks,
  'add-disk': addDisk,
  ls,
  mkdir,
  mv,
  rm,
  stat,
  gc,
  check,
  put,
  get,
  benchmark,
  'disk-events': diskEvents,
  events,
  'set-disk-health': setDiskHealth,
  'probe-disks': probeDisksOp,
  'replace-disk': replaceDisk,
  drain,
  'remove-disk': removeDisk,
  rebuild,
  compact,
  jobs,
  config,
  'config-export': configExport,
  'config-import': configImport,
  scrub,
  'scrub-daemon': scrubDaemon,
  'scrub-schedule': scrubSchedule,
  'tier-status': tierStatus,
  'tier-migrate': tierMigrate,
  'tier-policy': tierPolicy,
  upgrade,
  'snapshot-create': snapshotCreate,
  'snapshot-list': snapshotList,
  'snapshot-delete': snapshotDelete,
  'snapshot-hold': snapshotHold,
  'snapshot-release': snapshotRelease,
  'snapshot-diff': snapshotDiff,
  'snapshot-rollback': snapshotRollback,
  'snapshot-clone': snapshotClone,
  'snapshot-schedule': snapshotSchedule,
  send,
  receive,
  'receive-status': receiveStatus,
  'backup-create': backupCreate,
  'backup-restore': backupRestore,
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
export type { HealthData } from './health';
export type { DiagnoseData, Finding } from './diagnose';
export type { MetricsArgs, MetricsData } from './metrics';
export type { DisksData } from './disks';
export type { EventOut, EventsArgs, EventsData } from './events';
export type { AddDiskArgs, AddDiskData } from './add-disk';
export type { LsArgs, LsData } from './ls';
export type { MkdirArgs, MkdirData } from './mkdir';
export type { MvArgs, MvData } from './mv';
export type { RmArgs, RmData } from './rm';
export type { StatArgs, StatData } from './stat';
export type { GcArgs, GcData } from './gc';
export type { CheckArgs, CheckData } from './check';
export type { PutArgs, PutData } from './put';
export type { GetArgs, GetData } from './get';
export type { BenchmarkArgs, BenchmarkData } from './benchmark';
export type { DiskEventsArgs, DiskEventsData } from './disk-events';
export type { SetDiskHealthArgs, SetDiskHealthData } from './set-disk-health';
export type { ProbeDisksData } from './probe-disks';
export type { ReplaceDiskArgs, ReplaceDiskData } from './replace-disk';
export type { DrainArgs } from './drain';
export type { RemoveDiskArgs, RemoveDiskData } from './remove-disk';
export type { RebuildArgs } from './rebuild';
export type { TierStatusData } from './tier-status';
export type { TierMigrateArgs } from './tier-migrate';
export type { TierPolicyArgs, TierPolicyData } from './tier-policy';
export type { CompactArgs } from './compact';
export type { JobsArgs, JobsData } from './jobs';
export type { ConfigArgs, ConfigData, SettingRow } from './config';
export type { ConfigExportData } from './config-export';
export type { ConfigImportArgs, ConfigImportData } from './config-import';
export type { ScrubArgs, ScrubData } from './scrub';
export type { ScrubDaemonArgs, ScrubDaemonData, ScrubSection } from './scrub-daemon';
export type { ScrubScheduleArgs, ScrubScheduleData } from './scrub-schedule';
export type { JobOutcome } from '../job-op';
export type { UpgradeArgs, UpgradeData } from './upgrade';
export type { SendArgs, SendData } from './send';
export type { ReceiveArgs, ReceiveData, ReceiveStatusData } from './receive';
export type { ScheduleRow, SnapshotScheduleArgs, SnapshotScheduleData } from './snapshot-schedule';
export type { BackupCreateArgs, BackupCreateData } from './backup-create';
export type { BackupRestoreArgs, BackupRestoreData } from './backup-restore';
export type { SnapshotInfo, SnapshotListData, SnapshotDeleteData, SnapshotHoldData, SnapshotDiffData } from './snapshot';
