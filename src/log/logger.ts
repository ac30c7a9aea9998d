/**
 * Loggers are made here and passed down; nothing reaches for a global one. A
 * coordinator logs JSON lines (pino) to POOL/run/coordinator.log, written synchronously:
 * the volume is small, and a line must be on disk before a crash that it explains (and
 * before `dynamicfs mount` reads the log of a coordinator that failed to start).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LogFile {
  log: Logger;
  /** Flush and close the file. */
  close(): void;
}

/** A logger appending to `file` (created with its directory if missing; readable by its owner only). */
export function openLogFile(file: string, level: string = 'info'): LogFile {
  privateFile(file);
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

/**
 * Make sure `file` exists and is 0600 (its directory created 0700 if missing): logs name
 * paths, users and errors, for the pool's owner, not for everyone on the machine.
 */
export function privateFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  fs.chmodSync(file, 0o600); // one made before this rule
}
