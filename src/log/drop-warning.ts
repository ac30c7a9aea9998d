/**
 * The log's warning that the event sink (events.ts) drops events: naming the file, why,
 * and the fix, at most once a minute. A full or read-only run directory fails every event
 * from then on, and a line per event would flood the log the warning is written to; the
 * events dropped in between are counted in the next warning.
 */
import * as path from 'node:path';
import type { EventSink } from './events';
import type { Logger } from './logger';

export const DROP_WARNING_EVERY_MS = 60_000;

/** Warn in `log` when `sink` drops events, at most once per `everyMs` (`clock`: the tests'). */
export function warnOfDrops(sink: EventSink, log: Logger, everyMs: number = DROP_WARNING_EVERY_MS, clock: () => number = Date.now): void {
  let lastMs = -Infinity;
  let unreported = 0;
  sink.onDropped((err) => {
    unreported++;
    const now = clock();
    if (now - lastMs < everyMs) return;
    lastMs = now;
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    log.warn({ file: sink.file, code, dropped: unreported },
      `events cannot be written to ${sink.file} (${code}: ${(err as Error).message}); ${unreported} dropped since the last warning, `
      + `and \`dynamicfs events\` will not show them; free space on the filesystem holding ${path.dirname(sink.file)}, make it writable `
      + `by the pool's owner and ${path.basename(sink.file)} a regular file (dynamicfs_events_dropped_total counts them)`);
    unreported = 0;
  });
}
