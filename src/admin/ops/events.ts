/**
 * `events`: the pool's history in time order, merged from where each kind is kept — disk
 * state transitions (the disk_events table), job transitions, repairs, heals and scrub
 * findings (POOL/run/events.jsonl and its previous file, log/events.ts) and admin actions
 * (POOL/run/audit.log) — filtered by time, kind and request id. Read-only. A line of either
 * file that cannot be read is skipped and counted, never fatal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuditEntry } from '../../log/audit';
import { readEvents, type PoolEvent } from '../../log/events';
import type { DiskEvent } from '../../meta/records';
import type { AdminOp } from '../context';
import { eventQuery, select, type EventQueryArgs } from '../event-query';

export type EventsArgs = EventQueryArgs;

/** An event as `events` gives it: its time also in ISO 8601. */
export type EventOut = { time: string } & PoolEvent;

export interface EventsData {
  pool: string;
  events: EventOut[];
  /** Events the filters matched, before --limit. */
  matched: number;
  /** Damaged or torn lines skipped in events.jsonl(.1) and audit.log. */
  skipped: number;
  /** Where they were (the first 20): file name in POOL/run and 1-based line. */
  skippedLines: { file: string; line: number }[];
}

const MAX_SKIPPED_LISTED = 20;

function diskEvent(e: DiskEvent, paths: ReadonlyMap<number, string>): PoolEvent {
  const disk = `disk ${e.diskId}${paths.has(e.diskId) ? ` (${paths.get(e.diskId)})` : ''}`;
  const change = e.from === e.to ? `stays ${e.to}` : `${e.from ?? 'new'} -> ${e.to}`;
  return { timeMs: e.atMs, kind: 'disk', subject: `disk ${e.diskId}`, message: `${disk} ${change} (${e.source}): ${e.reason}`,
    details: { diskId: e.diskId, path: paths.get(e.diskId) ?? null, from: e.from, to: e.to, source: e.source, reason: e.reason }, reqId: e.reqId };
}

/** The audit log's entries as events; lines that are not entries are skipped (by line number). */
function auditEvents(file: string): { events: PoolEvent[]; skipped: number[] } {
  const out = { events: [] as PoolEvent[], skipped: [] as number[] };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((l, i) => {
    let v: (AuditEntry & { time: number }) | undefined;
    try {
      v = JSON.parse(l) as AuditEntry & { time: number };
    } catch {
      v = undefined;
    }
    if (!v || typeof v !== 'object' || typeof v.time !== 'number' || typeof v.op !== 'string' || typeof v.result !== 'string') {
      out.skipped.push(i + 1);
      return;
    }
    const who = v.who && typeof v.who === 'object' ? `${v.who.user} (uid ${v.who.uid}, pid ${v.who.pid})` : 'someone';
    out.events.push({ timeMs: v.time, kind: 'audit', subject: `op ${v.op}`,
      message: `${v.op} ${v.result === 'ok' ? 'ok' : `failed ${v.result}`} by ${who} via ${v.via}${v.error ? `: ${v.error}` : ''}`,
      details: { via: v.via, who: v.who, op: v.op, args: v.args, result: v.result, ms: v.ms, ...(v.error ? { error: v.error } : {}) },
      reqId: typeof v.reqId === 'string' ? v.reqId : null });
  });
  return out;
}

export const events: AdminOp<EventsArgs, EventsData> = async (engine, args) => {
  const q = eventQuery(args ?? {});
  const pool = engine.pool;
  const paths = new Map(pool.disks().map((d) => [d.id, d.path]));
  const sink = readEvents(pool.events.file);
  const auditFile = path.join(pool.dir, 'run', 'audit.log');
  const audit = auditEvents(auditFile);
  const all = [...engine.meta.diskEvents().map((e) => diskEvent(e, paths)), ...sink.events, ...audit.events];
  const { events: chosen, matched } = select(all, q);
  const skippedLines = [...sink.skipped.map((s) => ({ file: path.basename(s.file), line: s.line })),
    ...audit.skipped.map((line) => ({ file: path.basename(auditFile), line }))];
  return {
    pool: pool.dir,
    events: chosen.map((e) => ({ time: new Date(e.timeMs).toISOString(), ...e })),
    matched,
    skipped: skippedLines.length,
    skippedLines: skippedLines.slice(0, MAX_SKIPPED_LISTED),
  };
};
