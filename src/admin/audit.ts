/**
 * Which admin actions the audit log records, and how their arguments are summarised.
 * Every operation is audited except those that only look at the pool (below): a new
 * operation is audited unless it is added to that list. With the pool's audit.lookups
 * setting those are audited too (ping, every client's first request, never is).
 * Arguments are summarised, not copied: long strings are cut, buffers and large arrays
 * reduced to their size.
 */
import * as path from 'node:path';
import { sectionSettings } from '../config/values';
import { DfsError } from '../errors';
import { AuditLog, localIdentity, type AuditEntry } from '../log/audit';
import type { MetaStore } from '../meta/store';

/** Operations that change nothing (and ping): not audited unless audit.lookups. */
export const UNAUDITED_OPS: ReadonlySet<string> = new Set(['ping', 'status', 'health', 'diagnose', 'metrics', 'disks', 'ls', 'stat', 'disk-events',
  'config-export', 'events', 'snapshot-list', 'snapshot-diff', 'tier-status', 'receive-status']);

/** Operations that only look unless given one of these arguments (`jobs --cancel`, `config --set` or `--preset`, `snapshot schedule --every` or `--remove`, `tier-policy PRESET`). */
export const AUDITED_WITH: Readonly<Record<string, readonly string[]>> = { jobs: ['action'], config: ['set', 'preset'],
  'snapshot-schedule': ['every', 'keep', 'prefix', 'remove'], 'tier-policy': ['preset'] };

/** Of those, the ones that still only look when given `dryRun: true` (`config --preset NAME --dry-run`). */
export const DRY_RUN_LOOKS: ReadonlySet<string> = new Set(['config', 'tier-policy']);

export interface AuditSettings {
  /** Record read-only requests too. */
  lookups: boolean;
}

/** The pool's audit.* settings (config/settings.ts), read at each request so a change applies at once. */
export function auditSettings(meta: MetaStore): AuditSettings {
  return sectionSettings<AuditSettings>(meta, 'audit');
}

/** Whether `op` with `args` only looks at the pool (what a monitor may run, admin/access.ts). */
export function onlyLooks(op: string, args: Record<string, unknown> = {}): boolean {
  if (UNAUDITED_OPS.has(op)) return true;
  const acting = AUDITED_WITH[op];
  if (acting === undefined) return false;
  if (DRY_RUN_LOOKS.has(op) && args.dryRun === true) return true;
  return !acting.some((arg) => args[arg] !== undefined && args[arg] !== null);
}

/** Whether the audit log records `op`: every change; with `lookups` (audit.lookups) every look but ping too. */
export function isAudited(op: string, args: Record<string, unknown> = {}, lookups = false): boolean {
  if (op === 'ping') return false;
  return lookups || !onlyLooks(op, args);
}

const MAX_STRING = 256;
const MAX_ITEMS = 10;

function summary(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}... (${v.length} chars)` : v;
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || v === undefined) return v;
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (Array.isArray(v)) {
    const items = v.slice(0, MAX_ITEMS).map((x) => summary(x, depth + 1));
    return v.length > MAX_ITEMS ? [...items, `... (${v.length} items)`] : items;
  }
  if (typeof v === 'object') {
    if (depth >= 2) return '{...}';
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).slice(0, 20).map(([k, x]) => [k, summary(x, depth + 1)]));
  }
  return String(v);
}

export function summarizeArgs(args: Record<string, unknown>): Record<string, unknown> {
  return summary(args, 0) as Record<string, unknown>;
}

/** The audit log of the pool at `poolDir` (POOL/run/audit.log). */
export function auditLogOf(poolDir: string): AuditLog {
  return new AuditLog(path.join(path.resolve(poolDir), 'run', 'audit.log'));
}

/** The outcome of an action, as the audit log states it. */
export function outcome(err?: unknown): Pick<AuditEntry, 'result' | 'error'> {
  if (err === undefined) return { result: 'ok' };
  const code = err instanceof DfsError ? err.code : ((err as { code?: unknown })?.code as string | undefined) ?? 'EINTERNAL';
  return { result: String(code), error: (err as Error)?.message };
}

/** Record an action this process ran on a pool it opened itself (a local CLI run). */
export function auditLocal(poolDir: string, op: string, args: Record<string, unknown>, started: number, err?: unknown, reqId?: string,
  lookups = false): void {
  if (!isAudited(op, args, lookups)) return;
  auditLogOf(poolDir).record({ via: 'local', who: localIdentity(), op, args: summarizeArgs(args), ...outcome(err), ms: Date.now() - started,
    ...(reqId === undefined ? {} : { reqId }) });
}
