/**
 * Loggers are made here and passed down; nothing reaches for a global one. A
 * coordinator logs JSON lines (pino) to POOL/run/coordinator.log, written synchronously:
 * the volume is small, and a line must be on disk before a crash that it explains (and
 * before `dynamicfs mount` reads the log of a coordinator that failed to start).
 */
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LogFile {
  log: Logger;
  /** Flush and close the file. */
  close(): void;
}

/** A logger appending to `file` (created with its directory if missing). */
export function openLogFile(file: string, level: string = 'info'): LogFile {
  const dest = pino.destination({ dest: file, append: true, mkdir: true, sync: true });
  const log = pino({ name: 'dynamicfs', level, base: { pid: process.pid } }, dest);
  return {
    log,
    close: () => {
      dest.flushSync();
      dest.end();
    },
  };
}

/** A logger that drops everything (tests, and callers that have no log). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
