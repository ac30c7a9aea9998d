/**
 * `dynamicfs events POOL [--since T] [--until T] [--kind K,...] [--request ID] [--format text|jsonl|csv] [--limit N]`:
 * the pool's history — disk state changes, job transitions, repairs, heals, scrub findings
 * and admin actions — in time order. `--json` gives `{ok, events: [...], ...}` whatever
 * the format.
 */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { EventOut, EventsData } from '../../admin/ops';
import { DfsError } from '../../errors';
import { EVENT_KINDS } from '../../log/events';
import { csv } from '../csv';
import { table } from '../format';
import { jsonOf, type CliContext } from '../verb';

const FORMATS = ['text', 'jsonl', 'csv'] as const;
type Format = (typeof FORMATS)[number];

/** The CSV columns: details as a JSON object in one field. */
export const CSV_HEADER = ['time', 'timeMs', 'kind', 'subject', 'message', 'reqId', 'details'];

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}

function text(d: EventsData): string {
  if (d.events.length === 0) return 'no events';
  return table(['TIME', 'KIND', 'SUBJECT', 'REQUEST', 'MESSAGE'],
    d.events.map((e) => [e.time, e.kind, oneLine(e.subject), e.reqId ?? '-', oneLine(e.message)]));
}

function render(format: Format): (d: EventsData) => string {
  if (format === 'jsonl') return (d) => d.events.map((e) => JSON.stringify(e)).join('\n');
  if (format === 'csv') {
    return (d) => csv(CSV_HEADER, d.events.map((e: EventOut) => [e.time, e.timeMs, e.kind, e.subject, e.message, e.reqId, JSON.stringify(e.details)]));
  }
  return text;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function register(program: Command, ctx: CliContext): void {
  program.command('events')
    .summary('export the pool\'s events: disks, jobs, repairs, heals, scrub findings, scheduled snapshots, admin actions')
    .description('Print the history of POOL in time order, merged from the disk events table, POOL/run/events.jsonl '
      + '(job transitions, repairs, heals, scrub findings, snapshots the schedules took and pruned; and its previous file events.jsonl.1) and POOL/run/audit.log. '
      + 'Each event: time, kind, subject (disk, job, extent, path, op), a one-line message, details, and the id of the '
      + 'admin request that caused it. Read-only; lines of those files that cannot be read are skipped and counted.')
    .argument('<pool>', 'pool directory')
    .option('--since <time>', 'only events at or after TIME: ISO 8601 (2026-12-04T10:00:00Z) or a duration back from now (30m, 2h, 7d)')
    .option('--until <time>', 'only events at or before TIME (same forms as --since)')
    .option('--kind <kinds>', `only these kinds, comma-separated or repeated: ${EVENT_KINDS.join(', ')}`, collect)
    .option('--request <id>', 'only events caused by the admin request with this id (`--request-id` of a job verb, or `params.reqId` in `jobs --json`)')
    .option('--format <format>', 'text (aligned columns), jsonl (one JSON object per line) or csv (RFC 4180)', 'text')
    .option('--limit <n>', 'only the newest N matching events (still oldest first)')
    .addHelpText('after', '\nWith --json, the events are the "events" array of one JSON object, whatever --format says.')
    .action(async (pool: string, o: { since?: string; until?: string; kind?: string[]; request?: string; format: string; limit?: string }, cmd: Command) => {
      if (!(FORMATS as readonly string[]).includes(o.format)) {
        throw new DfsError('EUSAGE', `--format "${o.format}" is not one of ${FORMATS.join(', ')}`);
      }
      let limit: number | undefined;
      if (o.limit !== undefined) {
        limit = /^\d+$/.test(o.limit) ? Number(o.limit) : NaN;
        if (!Number.isSafeInteger(limit) || limit < 1) throw new DfsError('EUSAGE', `--limit "${o.limit}" is not a whole number of events, 1 or more (such as 100)`);
      }
      const data = await invoke(pool, 'events', {
        ...(o.since === undefined ? {} : { since: o.since }), ...(o.until === undefined ? {} : { until: o.until }),
        ...(o.kind === undefined ? {} : { kinds: o.kind }), ...(o.request === undefined ? {} : { request: o.request }),
        ...(limit === undefined ? {} : { limit }),
      });
      if (data.skipped > 0 && !jsonOf(cmd)) {
        const where = data.skippedLines.map((s) => `${s.file}:${s.line}`).join(', ');
        process.stderr.write(`dynamicfs: skipped ${data.skipped} damaged line${data.skipped === 1 ? '' : 's'} (${where}${data.skipped > data.skippedLines.length ? ', ...' : ''})\n`);
      }
      ctx.emit(data, render(o.format as Format));
    });
}
