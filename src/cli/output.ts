/**
 * The one place that decides how a command's outcome is printed. With `--json`,
 * stdout carries exactly one JSON object per run: `{"ok":true, ...data}` or
 * `{"ok":false,"error":{code,message,path?}}`. Without it, humans get the verb's
 * rendering on stdout and errors on stderr as `dynamicfs: <message>`.
 *
 * Exit codes: 0 success, 1 an operational error, 2 a usage error (EUSAGE), 3 `health`
 * found the pool critical (its answer is printed as a success: `"ok":true`).
 */
import { DfsError, toDfsError } from '../errors';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
/** `dynamicfs health` on a critical pool (unrecoverable extents). */
export const EXIT_CRITICAL = 3;

export interface Streams {
  out(text: string): void;
  err(text: string): void;
}

// A reader that went away (`dynamicfs ... | head`) ends the output, not the command with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

export const processStreams: Streams = {
  out: (t) => { process.stdout.write(t); },
  err: (t) => { process.stderr.write(t); },
};

/**
 * Whether the command line asks for JSON. Scanned from the raw argv (up to a "--")
 * rather than taken from the parser, because a usage error may stop the parser
 * before it reaches the flag, and that error must be JSON too.
 */
export function wantsJson(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--json') return true;
  }
  return false;
}

/** JSON.stringify that prints Buffers as hex instead of {type, data} arrays. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, function replacer(this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    return Buffer.isBuffer(raw) ? raw.toString('hex') : v;
  });
}

export class Output {
  constructor(readonly json: boolean, private readonly io: Streams = processStreams) {}

  /** Print a verb's data; `human` renders it for people (an empty string prints nothing). */
  success<T extends object>(data: T, human: (data: T) => string): number {
    if (this.json) {
      this.io.out(`${toJson({ ok: true, ...data })}\n`);
    } else {
      const text = human(data);
      if (text.length > 0) this.io.out(text.endsWith('\n') ? text : `${text}\n`);
    }
    return EXIT_OK;
  }

  /** Print an error (anything thrown) and return the exit code it deserves. */
  failure(thrown: unknown, hint?: string): number {
    const err = toDfsError(thrown);
    if (this.json) {
      const error: Record<string, unknown> = { code: err.code, message: err.message };
      if (err.path !== undefined) error.path = err.path;
      if (err.details) Object.assign(error, err.details);
      this.io.out(`${toJson({ ok: false, error })}\n`);
    } else {
      this.io.err(`dynamicfs: ${err.message}\n`);
      if (hint) this.io.err(`${hint}\n`);
      if (process.env.DFS_DEBUG && thrown instanceof Error && thrown.stack) this.io.err(`${thrown.stack}\n`);
    }
    return exitCodeFor(err);
  }
}

export function exitCodeFor(err: DfsError): number {
  return err.code === 'EUSAGE' ? EXIT_USAGE : EXIT_ERROR;
}
