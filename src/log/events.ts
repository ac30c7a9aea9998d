/**
 * The pool's event history for what no table keeps: job transitions, repairs, heals,
 * scrub findings, the snapshots schedules take and prune, and tier fallbacks, one JSON
 * object per line in POOL/run/events.jsonl (`dynamicfs events` merges it with the
 * disk_events table and the audit log). Each line is one write(2) on
 * a descriptor opened with O_APPEND, like the audit log, so the coordinator and a local
 * CLI run (a heal at open) may append at once without tearing lines; the file is created
 * 0600 (it names paths). Past `maxBytes` the file is renamed to events.jsonl.1 (the one
 * previous file kept, the older one replaced) and a new one started; readers read both.
 *
 * Writing never throws: a full or read-only run directory must not fail the repair or
 * job it records. An event not written is told to the sink's drop listeners instead (the
 * pool warns in its log, drop-warning.ts; the engine counts dynamicfs_events_dropped_total).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Every kind `dynamicfs events` shows; the sink writes job, repair, heal, scrub, snapshot and tier. */
export const EVENT_KINDS = ['disk', 'job', 'repair', 'heal', 'scrub', 'snapshot', 'tier', 'audit'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface PoolEvent {
  timeMs: number;
  kind: EventKind;
  /** What it is about: "disk 3", "job 7", "extent <hex>", a path, "pool". */
  subject: string;
  /** One line for people. */
  message: string;
  details: Record<string, unknown>;
  /** The admin request that caused it, when one did. */
  reqId: string | null;
}

export const EVENTS_FILE = 'events.jsonl';
/** Rotate past this many bytes: a year of a busy pool's repairs fits; a runaway scrub's findings do not fill the disk. */
export const DEFAULT_EVENTS_MAX_BYTES = 16 * 1024 * 1024;
/**
 * DYNAMICFS_EVENTS_MAX_BYTES overrides the rotation size (the tests' helper sets a few
 * KiB so that rotation happens without writing megabytes).
 */
export function eventsMaxBytes(): number {
  const v = Number(process.env.DYNAMICFS_EVENTS_MAX_BYTES);
  return Number.isSafeInteger(v) && v > 0 ? v : DEFAULT_EVENTS_MAX_BYTES;
}

export type NewEvent = Omit<PoolEvent, 'timeMs' | 'reqId' | 'details'> & { details?: Record<string, unknown>; reqId?: string | null; timeMs?: number };

/** Told of an event the sink could not write, and why. */
export type DropListener = (err: unknown) => void;

export class EventSink {
  private readonly dropListeners: DropListener[] = [];

  constructor(readonly file: string, private readonly maxBytes: number = eventsMaxBytes()) {}

  /** Call `fn` for every event that cannot be written from now on. */
  onDropped(fn: DropListener): void {
    this.dropListeners.push(fn);
  }

  /** Append one event; false when it could not be written. */
  record(e: NewEvent): boolean {
    const event: PoolEvent = { timeMs: e.timeMs ?? Date.now(), kind: e.kind, subject: e.subject, message: e.message,
      details: e.details ?? {}, reqId: e.reqId ?? null };
    const line = Buffer.from(`${JSON.stringify(event)}\n`);
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      let fd = fs.openSync(this.file, 'a+', 0o600);
      try {
        const st = fs.fstatSync(fd);
        if (st.size > 0 && st.size + line.length > this.maxBytes) {
          fs.closeSync(fd);
          fd = -1;
          this.rotate(st.ino);
          fd = fs.openSync(this.file, 'a+', 0o600);
        }
        // A line cut short (a full disk, a crash) must not swallow the next one: start on a line
        // of its own. Racing another appender, the last byte may be read mid-write and an
        // empty line added; readers ignore empty lines.
        fs.writeSync(fd, endsMidLine(fd) ? Buffer.concat([Buffer.from('\n'), line]) : line);
      } finally {
        if (fd >= 0) fs.closeSync(fd);
      }
      return true;
    } catch (err) {
      this.dropped(err);
      return false;
    }
  }

  /** A listener's own failure must not turn a dropped event into a failed repair. */
  private dropped(err: unknown): void {
    for (const fn of this.dropListeners) {
      try {
        fn(err);
      } catch {
        // nothing more to tell
      }
    }
  }

  /**
   * Move the full file aside. Only the pool's lock holder writes events, so rotations do
   * not race; the inode check still keeps a writer that lost a race from renaming the
   * fresh file over the full one.
   */
  private rotate(fullIno: number): void {
    if (fs.statSync(this.file).ino !== fullIno) return; // rotated meanwhile
    fs.renameSync(this.file, `${this.file}.1`);
  }
}

/** Whether the file open on `fd` ends without a newline (its last line was cut short). */
function endsMidLine(fd: number): boolean {
  const size = fs.fstatSync(fd).size;
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  fs.readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}

/** The sink of the pool at `poolDir`. */
export function eventSinkOf(poolDir: string): EventSink {
  return new EventSink(path.join(poolDir, 'run', EVENTS_FILE));
}

/** What reading found: events, and the lines that could not be read. */
export interface ReadEvents {
  events: PoolEvent[];
  /** Lines skipped: not JSON, or not an event (a torn or damaged line). */
  skipped: { file: string; line: number }[];
}

function isEvent(v: unknown): v is PoolEvent {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const e = v as Record<string, unknown>;
  return typeof e.timeMs === 'number' && Number.isFinite(e.timeMs) && (EVENT_KINDS as readonly string[]).includes(e.kind as string)
    && typeof e.subject === 'string' && typeof e.message === 'string'
    && typeof e.details === 'object' && e.details !== null && !Array.isArray(e.details)
    && (e.reqId === null || typeof e.reqId === 'string');
}

/**
 * Read the sink's files, the previous one first; a missing file is empty. Each line is
 * parsed on its own: a damaged one is skipped and named (file, 1-based line), never fatal;
 * empty lines are not events and not damage.
 */
export function readEvents(file: string): ReadEvents {
  const out: ReadEvents = { events: [], skipped: [] };
  for (const f of [`${file}.1`, file]) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    lines.forEach((l, i) => {
      if (l === '') return; // a defensive newline written while another appender was mid-write
      let v: unknown;
      try {
        v = JSON.parse(l);
      } catch {
        v = undefined;
      }
      if (isEvent(v)) out.events.push(v);
      else out.skipped.push({ file: f, line: i + 1 });
    });
  }
  return out;
}
