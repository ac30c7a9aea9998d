/**
 * fsync through the intent log (engine/intent-log.ts) for the mount's open files. An
 * fsync qualifies when the file's namespace is committed — this OpenFile was open at the
 * last group commit and its inode (kind, mode, owner, links, policy) and name are what
 * that commit recorded — or can be logged: this OpenFile was created in the open group,
 * is as it was created, and every name change of the group is one the log carries
 * (name-log.ts; they are appended first). Then the fsync appends what was written since
 * (log-state.ts), its size and mtime, and returns; anything else — a file renamed,
 * linked or unlinked in the open group, a file opened since the last commit, more than
 * 4 MiB or more than a thousand scattered ranges to log, a failed append — takes the
 * full group commit instead.
 *
 * At a group commit each file with log records is either carried over — the group has
 * not touched its extents, and its commits wait until the group is committed, so the
 * records stay valid on the new generation (engine/intent-log.ts carryOver) — or, when
 * it has been committed in the group already, has diverged too far, or the logs are
 * full, committed into the group whole (its records are obsolete then).
 */
import type { Engine } from '../engine/engine';
import { LOG_RECORD_MAX_DATA, type LogEntry } from '../engine/intent-log';
import type { Inode } from '../meta/records';
import type { Delta } from './log-state';
import { NameLog } from './name-log';
import type { OpenFile } from './open-file';

/** More bytes than this since the last record: fsync commits the group instead. */
const LOG_MAX_BYTES = 4 * 1024 * 1024;

export class FileLog {
  /** Files with records in the log: each group commit carries them over or takes them whole. */
  private logged = new Set<OpenFile>();
  /** Carried over by the commit in progress (their commits wait for it). */
  private carried: OpenFile[] = [];
  /** Open files at the last group commit, and their namespace then. */
  private committed = new Map<number, { file: OpenFile; key: string }>();
  /** Files created in the open group, and their namespace then. */
  private created = new Map<number, { file: OpenFile; key: string }>();
  /** The open group's name changes the log can carry. */
  readonly names: NameLog;
  /** The store's transaction count at the last group commit, and the transactions since that the log holds. */
  private txnBase: number;
  private txnLogged = 0;

  constructor(private readonly engine: Engine, private readonly openFiles: () => OpenFile[]) {
    this.names = new NameLog(engine.meta);
    this.txnBase = engine.meta.transactions();
    engine.txg.join({
      // Logged files need no commit (the log holds them) until the logs are full.
      pending: () => this.logged.size > 0 && engine.intentLog.full,
      prepare: async () => {
        const full = engine.intentLog.full;
        // A chmod, chown or utimens waiting: the group stores it with the file's data (replaying carried records would set the mtime back).
        const whole = new Set([...this.logged].filter((f) => full || !f.log.carriable || f.attrsPending));
        let commit = [...whole];
        // A file that started a commit of its own meanwhile is taken whole too, once that commit is in the group.
        while (commit.length > 0) {
          await Promise.all(commit.map((f) => f.commit()));
          commit = [...this.logged].filter((f) => !whole.has(f) && !f.log.carriable);
          for (const f of commit) whole.add(f);
        }
        // Synchronously with the check above: no commit of a carried file starts before it is held.
        this.carried = [...this.logged].filter((f) => !whole.has(f));
        for (const f of this.carried) f.log.holdCommits();
        engine.intentLog.carryOver(this.carried.map((f) => f.ino));
      },
      committed: () => {
        this.names.groupCommitted();
        this.created.clear();
        this.txnBase = engine.meta.transactions();
        this.txnLogged = 0;
        const carried = new Set(this.carried);
        this.logged = carried;
        const now = new Map<number, { file: OpenFile; key: string }>();
        for (const f of this.openFiles()) {
          f.log.groupCommitted(carried.has(f));
          const key = this.keyOf(f.ino);
          if (key !== undefined) now.set(f.ino, { file: f, key });
        }
        for (const f of carried) if (!now.has(f.ino)) f.log.groupCommitted(true);
        this.committed = now;
      },
      finish: async () => {
        for (const f of this.carried) f.log.releaseCommits();
        this.carried = [];
      },
    });
  }

  /** The mount created f at parent/name (call right after the create's transaction). */
  createdFile(f: OpenFile, parent: number, name: string, inode: Inode): void {
    this.names.created(parent, name, inode);
    this.txnLogged++;
    this.created.set(f.ino, { file: f, key: keyFrom(inode, parent, name) });
  }

  /** The entry parent/name of inode `ino` unlinked (call right after its transaction). */
  unlinked(parent: number, name: string, ino: number, atMs: number): void {
    this.names.unlinked(parent, name, ino, atMs);
    this.txnLogged++;
  }

  /**
   * A metadata transaction of the open group that needs no commit once the log holds what
   * it records: a file's commit with every byte logged, an unlinked inode's drop (replay
   * of the unlink drops it; recovery drops one unlinked in an earlier group).
   */
  transaction(logged: boolean): void {
    if (logged) this.txnLogged++;
  }

  /** f's last handle is closed: a later open is another OpenFile, which does not qualify until a group commit. */
  released(f: OpenFile): void {
    if (this.created.get(f.ino)?.file === f) this.created.delete(f.ino);
  }

  /**
   * fsyncdir, after every open file's fsync went through the log: make the whole open
   * group durable through the log — its name changes not logged yet appended — when every
   * metadata transaction in it is one the log holds or makes again (creates, unlinks,
   * commits of files whose bytes are all logged). False: leave it to a group commit (a
   * file written and closed unsynced, a chmod, a mkdir...: as on ext4, the directory's
   * fsync makes them durable too).
   */
  groupLogged(): Promise<boolean> {
    if (!this.usable) return Promise.resolve(false);
    return this.engine.intentLog.exclusive(async () => {
      if (!this.names.carriable || this.engine.meta.transactions() !== this.txnBase + this.txnLogged) return false;
      if (this.names.pending === 0) return true;
      const names = this.names.take();
      try {
        await this.engine.intentLog.append(names.entries);
        return true;
      } catch {
        names.giveBack();
        return false;
      }
    });
  }

  /** Whether the commit in progress carries f's records over (it must store nothing of f). */
  carries(f: OpenFile): boolean {
    return this.carried.includes(f);
  }

  /** The log takes fsyncs: in a transaction group, on a pool that enabled the intent log (a format-1 pool commits the group until `upgrade`). */
  private get usable(): boolean {
    return this.engine.txg.enabled && this.engine.pool.usesFeature('intent-log');
  }

  /** Whether f has records in the log (a group commit carries them, or has taken it whole already). */
  logs(f: OpenFile): boolean {
    return this.logged.has(f);
  }

  /** What of an inode the log cannot carry: a change of it means a full commit. */
  private keyOf(ino: number): string | undefined {
    const i = this.engine.meta.getInode(ino);
    if (!i) return undefined;
    const at = this.engine.meta.parentOf(ino);
    return keyFrom(i, at?.parent ?? null, at?.name ?? null);
  }

  /** Make f's writes durable through the log; false when it does not qualify (commit the group instead). */
  fsync(f: OpenFile): Promise<boolean> {
    if (!this.usable) return Promise.resolve(false);
    return this.engine.intentLog.exclusive(async () => {
      const created = this.created.get(f.ino);
      const was = this.committed.get(f.ino) ?? created;
      if (was?.file !== f || was.key !== this.keyOf(f.ino)) return false;
      if (f.attrsPending) return false; // a chmod, chown or utimens waits for the file's commit: the log holds data and size only
      // A file new in the group needs its name durable too: every name change of the group not logged yet goes first.
      if (was === created && !this.names.carriable) return false;
      const names = was === created ? this.names.take() : { entries: [], giveBack: () => undefined };
      const delta = f.log.take();
      if (delta.empty && names.entries.length === 0) return true; // everything written is in the log or in the committed group
      if (delta.overflow || delta.bytes > LOG_MAX_BYTES) {
        // Scattered or large writes: rewriting the extents once beats copying them to m+1 logs.
        f.log.giveBack(delta);
        names.giveBack();
        return false;
      }
      try {
        await this.engine.intentLog.append([...names.entries, ...(delta.empty ? [] : await entriesOf(f, delta))]);
      } catch {
        // Not durable on m+1 disks: the full commit will be (or will report why not).
        f.log.giveBack(delta);
        names.giveBack();
        return false;
      }
      if (!delta.empty) this.logged.add(f);
      if (this.engine.intentLog.full) void this.engine.txg.commit('log-full').catch(() => undefined);
      return true;
    });
  }
}

function keyFrom(i: Inode, parent: number | null, name: string | null): string {
  return JSON.stringify([i.kind, i.mode, i.uid, i.gid, i.nlink, i.policy, parent, name]);
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
