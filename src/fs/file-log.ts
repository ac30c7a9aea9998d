/**
 * fsync through the intent log (engine/intent-log.ts) for the mount's open files. An
 * fsync qualifies when the file's namespace is committed: this OpenFile was open at the
 * last group commit and its inode (kind, mode, owner, links, policy) and name are what
 * that commit recorded. Then the fsync appends what was written since (log-state.ts),
 * its size and mtime, and returns; anything else — a file created, renamed, linked or
 * unlinked in the open group, a file opened since the last commit, more than 4 MiB or
 * more than a thousand scattered ranges to log, a failed append — takes the full group
 * commit instead.
 *
 * Before a group commit the files with log records are committed into it, so that once
 * it is durable their records are obsolete and the logs can be emptied.
 */
import type { Engine } from '../engine/engine';
import { LOG_RECORD_MAX_DATA, type LogEntry } from '../engine/intent-log';
import type { Delta } from './log-state';
import type { OpenFile } from './open-file';

/** More bytes than this since the last record: fsync commits the group instead. */
const LOG_MAX_BYTES = 4 * 1024 * 1024;

export class FileLog {
  /** Files with records in the current log: the next group must commit them. */
  private readonly logged = new Set<OpenFile>();
  /** Open files at the last group commit, and their namespace then. */
  private committed = new Map<number, { file: OpenFile; key: string }>();

  constructor(private readonly engine: Engine, private readonly openFiles: () => OpenFile[]) {
    engine.txg.join({
      pending: () => this.logged.size > 0,
      prepare: async () => {
        await Promise.all([...this.logged].map((f) => f.commit()));
      },
      committed: () => {
        this.logged.clear();
        const now = new Map<number, { file: OpenFile; key: string }>();
        for (const f of this.openFiles()) {
          f.log.groupCommitted();
          const key = this.keyOf(f.ino);
          if (key !== undefined) now.set(f.ino, { file: f, key });
        }
        this.committed = now;
      },
    });
  }

  /** What of an inode the log cannot carry: a change of it means a full commit. */
  private keyOf(ino: number): string | undefined {
    const i = this.engine.meta.getInode(ino);
    if (!i) return undefined;
    const at = this.engine.meta.parentOf(ino);
    return JSON.stringify([i.kind, i.mode, i.uid, i.gid, i.nlink, i.policy, at?.parent ?? null, at?.name ?? null]);
  }

  /** Make f's writes durable through the log; false when it does not qualify (commit the group instead). */
  fsync(f: OpenFile): Promise<boolean> {
    if (!this.engine.txg.enabled) return Promise.resolve(false);
    return this.engine.intentLog.exclusive(async () => {
      const was = this.committed.get(f.ino);
      if (was?.file !== f || was.key !== this.keyOf(f.ino)) return false;
      const delta = f.log.take();
      if (delta.empty) return true; // everything written is in the log or in the committed group
      if (delta.overflow || delta.bytes > LOG_MAX_BYTES) {
        // Scattered or large writes: rewriting the extents once beats copying them to m+1 logs.
        f.log.giveBack(delta);
        return false;
      }
      try {
        await this.engine.intentLog.append(await entriesOf(f, delta));
      } catch {
        // Not durable on m+1 disks: the full commit will be (or will report why not).
        f.log.giveBack(delta);
        return false;
      }
      this.logged.add(f);
      return true;
    });
  }
}

/** The records of one fsync: the truncate (if any) first, then the ranges' bytes now, then the size. */
async function entriesOf(f: OpenFile, delta: Delta): Promise<LogEntry[]> {
  const { ino, size, mtimeMs } = f;
  const out: LogEntry[] = [];
  const empty = Buffer.alloc(0);
  if (delta.truncatedTo !== undefined) out.push({ ino, offset: 0, size: delta.truncatedTo, mtimeMs, data: empty });
  for (const [start, end] of delta.ranges) {
    for (let at = start; at < Math.min(end, size); at += LOG_RECORD_MAX_DATA) {
      const buf = Buffer.allocUnsafe(Math.min(LOG_RECORD_MAX_DATA, Math.min(end, size) - at));
      const n = await f.read(at, buf);
      out.push({ ino, offset: at, size, mtimeMs, data: buf.subarray(0, n) });
    }
  }
  if (out.length === 0 || out[out.length - 1]!.size !== size) out.push({ ino, offset: 0, size, mtimeMs, data: empty });
  return out;
}
