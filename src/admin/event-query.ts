/**
 * What `dynamicfs events` asks for, checked: a time window (ISO 8601 times or durations
 * back from now), event kinds, a request id, a limit. The checks run where the events
 * are read (here or in the coordinator), so a bad value is the same EINVAL either way,
 * naming the CLI option and an example.
 */
import { DfsError } from '../errors';
import { EVENT_KINDS, type EventKind, type PoolEvent } from '../log/events';

export interface EventQuery {
  sinceMs: number | null;
  untilMs: number | null;
  kinds: ReadonlySet<EventKind> | null;
  reqId: string | null;
  /** The newest `limit` events (still printed oldest first); null: all. */
  limit: number | null;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * `text` as a time in ms: an ISO 8601 date or date-time (without a zone: local time; a
 * bare date: midnight UTC, as ISO 8601 parsers take it), or a duration back from `nowMs`
 * such as 90s, 30m, 2h, 7d, 1w.
 */
export function parseTime(text: string, option: string, nowMs: number): number {
  const rel = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  if (rel) return nowMs - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  if (ISO.test(text.trim())) {
    const ms = Date.parse(text.trim().replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms;
  }
  throw new DfsError('EINVAL', `${option} "${text}" is neither an ISO 8601 time (such as 2026-12-04T10:00:00Z) `
    + 'nor a duration back from now (such as 30m, 2h or 7d)');
}

/** `--kind disk,job`: each one of EVENT_KINDS. */
export function parseKinds(list: readonly string[]): Set<EventKind> {
  const kinds = new Set<EventKind>();
  for (const k of list.flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '')) {
    if (!(EVENT_KINDS as readonly string[]).includes(k)) {
      throw new DfsError('EINVAL', `--kind "${k}" is not an event kind; use one or more of ${EVENT_KINDS.join(', ')} (comma-separated)`);
    }
    kinds.add(k as EventKind);
  }
  if (kinds.size === 0) throw new DfsError('EINVAL', `--kind needs at least one of ${EVENT_KINDS.join(', ')}`);
  return kinds;
}

export interface EventQueryArgs {
  since?: string | null;
  until?: string | null;
  kinds?: string[] | null;
  request?: string | null;
  limit?: number | null;
}

function optionalString(v: unknown, option: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new DfsError('EINVAL', `events: ${option} must be a string`);
  return v;
}

/** The query `args` describe (every field checked: over the socket they come from another process). */
export function eventQuery(args: EventQueryArgs, nowMs: number = Date.now()): EventQuery {
  const since = optionalString(args.since, '--since');
  const until = optionalString(args.until, '--until');
  const q: EventQuery = {
    sinceMs: since === null ? null : parseTime(since, '--since', nowMs),
    untilMs: until === null ? null : parseTime(until, '--until', nowMs),
    kinds: null,
    reqId: optionalString(args.request, '--request'),
    limit: null,
  };
  if (args.kinds !== undefined && args.kinds !== null) {
    if (!Array.isArray(args.kinds) || !args.kinds.every((k) => typeof k === 'string')) throw new DfsError('EINVAL', 'events: kinds must be a list of strings');
    q.kinds = parseKinds(args.kinds);
  }
  if (args.limit !== undefined && args.limit !== null) {
    if (typeof args.limit !== 'number' || !Number.isSafeInteger(args.limit) || args.limit < 1) {
      throw new DfsError('EINVAL', `--limit ${String(args.limit)}: give a whole number of events, 1 or more (such as 100)`);
    }
    q.limit = args.limit;
  }
  if (q.sinceMs !== null && q.untilMs !== null && q.sinceMs > q.untilMs) {
    throw new DfsError('EINVAL', `--since (${new Date(q.sinceMs).toISOString()}) is after --until (${new Date(q.untilMs).toISOString()}); swap them`);
  }
  return q;
}

/** The events `q` selects, in time order (ties keep their sources' order), the newest `limit` of them. */
export function select(events: readonly PoolEvent[], q: EventQuery): { events: PoolEvent[]; matched: number } {
  const hit = events.filter((e) => (q.sinceMs === null || e.timeMs >= q.sinceMs) && (q.untilMs === null || e.timeMs <= q.untilMs)
    && (q.kinds === null || q.kinds.has(e.kind)) && (q.reqId === null || e.reqId === q.reqId));
  const sorted = hit.sort((a, b) => a.timeMs - b.timeMs); // stable: ties keep their order
  return { events: q.limit === null ? sorted : sorted.slice(-q.limit), matched: hit.length };
}
