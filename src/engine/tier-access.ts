/**
 * When each extent was last read (or written), and its last few reads, for the tier
 * migration (tier-migrate.ts: idle extents move down, often-read ones up):
 * kept in memory by whoever holds the pool, and persisted in POOL/tier-access.json, a
 * sealed JSON document (its own BLAKE3, pool/durable-file.ts; written tmp, fsync, rename):
 * at most once a minute at a group commit, and when the engine closes. Reads counted are
 * a file's reads (get, the mount, its cache hits too), not scrub's, repair's or a
 * migration's own.
 *
 * An extent the history does not name was last touched no later than `sinceMs`, when the
 * history began (a new one, or one found damaged: then it starts afresh, so nothing looks
 * idle for longer than it can be shown to be). A coordinator killed between saves loses
 * the reads since the last save: those extents look idle since their previous read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DfsError } from '../errors';
import { openJson, sealJson, writeFileDurable } from '../pool/durable-file';

export const ACCESS_FILE = 'tier-access.json';
const FORMAT = 'dynamicfs-tier-access';
const SAVE_EVERY_MS = 60_000;
/** Read times kept per extent: enough for the largest tier.promoteReads. */
export const READS_KEPT = 16;

export class AccessHistory {
  private sinceMs: number;
  private readonly last = new Map<string, number>();
  /** The last READS_KEPT read times of extents read (oldest first). */
  private readonly reads = new Map<string, number[]>();
  private dirty = false;
  private savedAtMs = 0;
  /** Why the file on disk was not used (damaged), if it was not. */
  readonly damaged: string | undefined;

  constructor(private readonly file: string, nowMs = Date.now()) {
    this.sinceMs = nowMs;
    let text: string | undefined;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return; // none yet
    }
    try {
      const doc = openJson(text, 'the tier access history', file);
      if (doc.format !== FORMAT || doc.version !== 1 || typeof doc.sinceMs !== 'number' || typeof doc.lastMs !== 'object' || doc.lastMs === null) {
        throw new DfsError('EFORMAT', `the tier access history ${file} is not a version 1 ${FORMAT} document`);
      }
      this.sinceMs = doc.sinceMs;
      for (const [id, ms] of Object.entries(doc.lastMs as Record<string, unknown>)) if (typeof ms === 'number') this.last.set(id, ms);
      const reads = typeof doc.readsMs === 'object' && doc.readsMs !== null ? doc.readsMs as Record<string, unknown> : {};
      for (const [id, list] of Object.entries(reads)) {
        if (Array.isArray(list)) this.reads.set(id, list.filter((x): x is number => typeof x === 'number').slice(-READS_KEPT));
      }
    } catch (err) {
      this.damaged = (err as Error).message;
      this.dirty = true; // replace it with the fresh history at the next save
    }
  }

  static of(poolDir: string): AccessHistory {
    return new AccessHistory(path.join(poolDir, ACCESS_FILE));
  }

  /** The extent was read (or, `read` false, written) now. */
  touch(extentId: Buffer, read = true, nowMs = Date.now()): void {
    const id = extentId.toString('hex');
    this.last.set(id, nowMs);
    if (read) {
      const list = this.reads.get(id) ?? [];
      list.push(nowMs);
      if (list.length > READS_KEPT) list.shift();
      this.reads.set(id, list);
    }
    this.dirty = true;
  }

  /** Reads of the extent since `sinceMs` (at most READS_KEPT are remembered). */
  readsSince(extentId: Buffer, sinceMs: number): number {
    return (this.reads.get(extentId.toString('hex')) ?? []).filter((t) => t >= sinceMs).length;
  }

  /** When the extent was last read or written, as far as the history knows (at the latest). */
  lastAccessMs(extentId: Buffer): number {
    return this.last.get(extentId.toString('hex')) ?? this.sinceMs;
  }

  /** Save now if anything changed since the last save. Never throws: a history not saved only makes extents look idle since earlier. */
  save(keep?: (idHex: string) => boolean): boolean {
    if (!this.dirty) return true;
    if (keep) {
      for (const id of [...this.last.keys()]) {
        if (keep(id)) continue;
        this.last.delete(id);
        this.reads.delete(id);
      }
    }
    try {
      writeFileDurable(this.file, sealJson({ format: FORMAT, version: 1, sinceMs: this.sinceMs, lastMs: Object.fromEntries(this.last),
        readsMs: Object.fromEntries(this.reads) }));
      this.dirty = false;
      this.savedAtMs = Date.now();
      return true;
    } catch {
      return false;
    }
  }

  /** Save if the last save is a minute old (called at group commits). */
  saveSoon(nowMs = Date.now()): void {
    if (this.dirty && nowMs - this.savedAtMs >= SAVE_EVERY_MS) this.save();
  }
}
