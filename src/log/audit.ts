/**
 * The audit log: one JSON line per admin action in POOL/run/audit.log — who asked, what
 * (operation and a summary of its arguments), and the result (ok or the error code).
 * Lines have pino's shape (level, time, pid, name, msg) plus `component: "audit"`, so
 * the tools that read coordinator.log read this too. Each line is one append(2) on a
 * file opened with O_APPEND: the coordinator and local CLI runs may write to it at once
 * without tearing lines. The file is created 0600 (it names users and paths).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Who asked. Over the admin socket, as the kernel says (see `verified`). */
export interface Identity {
  user: string;
  uid: number;
  gid: number;
  pid: number;
}

export interface AuditEntry {
  /** socket: a request to the coordinator; local: a CLI run on the pool it opened itself; coordinator: its own start and stop. */
  via: 'socket' | 'local' | 'coordinator';
  who: Identity & {
    /**
     * Socket requests only: true when pid, uid and gid are the kernel's (SO_PEERCRED), or,
     * where it could not say, when /proc confirms that the declared pid runs as the
     * declared uid.
     */
    verified?: boolean;
  };
  op: string;
  args: Record<string, unknown>;
  /** "ok", or the error code the action failed with. */
  result: string;
  ms: number;
  reqId?: string;
  /** The error message, when it failed. */
  error?: string;
}

let self: Identity | undefined;

/** This process: user name, uid, gid, pid. */
export function localIdentity(): Identity {
  if (!self) {
    let user: string;
    try {
      user = os.userInfo().username;
    } catch {
      user = process.env.USER ?? String(process.getuid?.() ?? '?');
    }
    self = { user, uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, pid: process.pid };
  }
  return { ...self, pid: process.pid };
}

export class AuditLog {
  constructor(readonly file: string) {}

  /** Append one entry. Never throws: a full or read-only run directory must not fail the action it records. */
  record(e: AuditEntry): boolean {
    const line = JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, name: 'dynamicfs', component: 'audit', ...e, msg: 'admin action' });
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.appendFileSync(this.file, `${line}\n`, { mode: 0o600 });
      return true;
    } catch {
      return false;
    }
  }
}

/** Read every entry of an audit log (tests and tools). */
export function readAuditLog(file: string): (AuditEntry & { time: number })[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as AuditEntry & { time: number });
}
