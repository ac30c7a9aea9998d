/**
 * When each extent was last read (or written), and how hot it is, for the tier migration
 * (tier-migrate.ts: idle, not hot extents move down, hot ones up): kept in memory by
 * whoever holds the pool, and persisted in POOL/tier-access.json, a sealed JSON document
 * (its own BLAKE3, pool/durable-file.ts; written tmp, fsync, rename): at most once a
 * minute at a group commit, and when the engine closes. Reads counted are a file's reads
 * (get, the mount, its cache hits too), not scrub's, repair's or a migration's own.
 *
 * Heat: an extent's reads are counted per interval (tier.promoteWindowSeconds; an interval
 * starts at the extent's first read after the last one ended, so a burst is not cut in two
 * by a clock's grid), and once it has ended both classifiers (heat.ts) take the count,
 * then one step per whole empty interval since: O(1) state per extent, whichever
 * tier.classifier names. Reads of an extent less
 * than ACCESS_GAP_MS after the last one counted are the same access: through the mount a
 * sequential reader reads a 4 MiB extent in 32 calls, and one pass must not look like 32
 * reads. An extent is judged on whole intervals only: the one under way counts once over.
 *
 * An extent the history does not name was last touched no later than `sinceMs`, when the
 * history began (a new one, or one found damaged: then it starts afresh, so nothing looks
 * idle for longer than it can be shown to be), and is cold. A coordinator killed between
 * saves loses the reads since the last save: those extents look idle since their previous
 * read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sectionSettings, type ConfigSource } from '../config/values';
import { DfsError } from '../errors';
import { openJson, sealJson, writeFileDurable } from '../pool/durable-file';
import { heatClassifier, type ClassifierName, type HeatClassifier } from './heat';

export const ACCESS_FILE = 'tier-access.json';
const FORMAT = 'dynamicfs-tier-access';
const SAVE_EVERY_MS = 60_000;
/** Reads of one extent closer than this to its last counted read are the same access. */
export const ACCESS_GAP_MS = 1000;
/** Significant digits the states are saved with. */
const SAVED_DIGITS = 6;

/** What the classifiers need from the settings: the interval and the reads a hot extent has in one. */
export interface HeatSettings {
  intervalMs: number;
  hotReads: number;
}

/** The heat settings of a pool (tier.promoteWindowSeconds, tier.promoteReads). */
export function heatSettings(src: ConfigSource): HeatSettings {
  const s = sectionSettings<{ promoteWindowSeconds: number; promoteReads: number }>(src, 'tier');
  return { intervalMs: s.promoteWindowSeconds * 1000, hotReads: s.promoteReads };
}

/** An extent's reads since its first counted one. */
interface Heat {
  /** The last read counted (ms). */
  countedMs: number;
  /** The start of the interval reads are counted in (ms: the read that opened it), and the count so far. */
  binMs: number;
  count: number;
  /** Each classifier's state after the intervals before binMs. */
  hmm: number;
  decayed: number;
}

interface Entry {
  /** The last read or write (ms). */
  lastMs: number;
  /** Absent until a read is counted. */
  heat?: Heat;
}

/** On disk: the last access alone, or with the heat: [lastMs, countedMs, binMs, count, hmm, decayed]. */
type SavedEntry = number | [number, number, number, number, number, number];

export class AccessHistory {
  private sinceMs: number;
  private readonly entries = new Map<string, Entry>();
  private intervalMs = 3600_000;
  private models: Record<ClassifierName, HeatClassifier> = { hmm: heatClassifier('hmm', 4), decayed: heatClassifier('decayed', 4) };
  private dirty = false;
  private savedAtMs = 0;
  /** Why the file on disk was not used (damaged), if it was not. */
  readonly damaged: string | undefined;

  constructor(private readonly file: string, nowMs = Date.now(), settings?: HeatSettings) {
    this.sinceMs = nowMs;
    if (settings) this.configure(settings);
    let text: string | undefined;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return; // none yet
    }
    try {
      const doc = openJson(text, 'the tier access history', file);
      if (doc.format !== FORMAT || (doc.version !== 1 && doc.version !== 2) || typeof doc.sinceMs !== 'number') {
        throw new DfsError('EFORMAT', `the tier access history ${file} is not a version 1 or 2 ${FORMAT} document`);
      }
      this.sinceMs = doc.sinceMs;
      if (doc.version === 1) this.loadVersion1(doc, file);
      else this.loadVersion2(doc, file);
    } catch (err) {
      this.entries.clear();
      this.damaged = (err as Error).message;
      this.dirty = true; // replace it with the fresh history at the next save
    }
  }

  static of(poolDir: string, settings?: HeatSettings): AccessHistory {
    return new AccessHistory(path.join(poolDir, ACCESS_FILE), Date.now(), settings);
  }

  /** New settings, at once: the intervals that end from now on are of the new length, and hot extents read that often. */
  configure(s: HeatSettings): void {
    this.intervalMs = s.intervalMs;
    this.models = { hmm: heatClassifier('hmm', s.hotReads), decayed: heatClassifier('decayed', s.hotReads) };
  }

  /** The extent was read (or, `read` false, written) now. */
  touch(extentId: Buffer, read = true, nowMs = Date.now()): void {
    const id = extentId.toString('hex');
    let e = this.entries.get(id);
    if (!e) {
      e = { lastMs: nowMs };
      this.entries.set(id, e);
    }
    e.lastMs = nowMs;
    this.dirty = true;
    if (!read) return;
    if (!e.heat) {
      e.heat = { countedMs: nowMs, binMs: nowMs, count: 1, hmm: this.models.hmm.initial, decayed: this.models.decayed.initial };
      return;
    }
    const h = e.heat;
    // A clock set back counts anew rather than never again.
    if (nowMs - h.countedMs < ACCESS_GAP_MS && nowMs >= h.countedMs) return;
    this.advance(h, nowMs);
    h.count++;
    h.countedMs = nowMs;
  }

  /** When the extent was last read or written, as far as the history knows (at the latest). */
  lastAccessMs(extentId: Buffer): number {
    return this.entries.get(extentId.toString('hex'))?.lastMs ?? this.sinceMs;
  }

  /** Whether classifier `name` calls the extent hot now, from the intervals that have ended. */
  hot(extentId: Buffer, name: ClassifierName, nowMs = Date.now()): boolean {
    const model = this.models[name];
    return model.hot(this.state(extentId, name, nowMs));
  }

  /** Classifier `name`'s state of the extent after the intervals ended by `nowMs` (its initial one when no read was counted). */
  state(extentId: Buffer, name: ClassifierName, nowMs = Date.now()): number {
    const h = this.entries.get(extentId.toString('hex'))?.heat;
    const model = this.models[name];
    if (!h) return model.initial;
    const empty = this.emptySince(h, nowMs);
    return empty === null ? h[name] : model.idle(model.step(h[name], h.count), empty);
  }

  /** Save now if anything changed since the last save. Never throws: a history not saved only makes extents look idle since earlier. */
  save(keep?: (idHex: string) => boolean): boolean {
    if (!this.dirty) return true;
    if (keep) {
      for (const id of [...this.entries.keys()]) if (!keep(id)) this.entries.delete(id);
    }
    const round = (x: number): number => Number(x.toPrecision(SAVED_DIGITS));
    const extents: Record<string, SavedEntry> = {};
    for (const [id, e] of this.entries) {
      const h = e.heat;
      extents[id] = h ? [e.lastMs, h.countedMs, h.binMs, h.count, round(h.hmm), round(h.decayed)] : e.lastMs;
    }
    try {
      writeFileDurable(this.file, sealJson({ format: FORMAT, version: 2, sinceMs: this.sinceMs, extents }));
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

  /** null while the extent's interval is under way at `nowMs`; once it has ended, the whole empty intervals since. */
  private emptySince(h: Heat, nowMs: number): number | null {
    const end = h.binMs + this.intervalMs;
    return nowMs < end ? null : Math.floor((nowMs - end) / this.intervalMs);
  }

  /** A read at `nowMs`: if the extent's interval has ended, each classifier takes its count and the empty intervals since, and a new one starts now. */
  private advance(h: Heat, nowMs: number): void {
    const empty = this.emptySince(h, nowMs);
    if (empty === null) return;
    for (const name of ['hmm', 'decayed'] as const) {
      const model = this.models[name];
      h[name] = model.idle(model.step(h[name], h.count), empty);
    }
    h.binMs = nowMs;
    h.count = 0;
  }

  /** Version 2: extent id → SavedEntry. */
  private loadVersion2(doc: Record<string, unknown>, file: string): void {
    const extents = doc.extents;
    if (typeof extents !== 'object' || extents === null) throw new DfsError('EFORMAT', `the tier access history ${file} has no extents object`);
    const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
    for (const [id, v] of Object.entries(extents as Record<string, unknown>)) {
      if (finite(v)) this.entries.set(id, { lastMs: v });
      else if (Array.isArray(v) && v.length === 6 && v.every(finite)) {
        const [lastMs, countedMs, binMs, count, hmm, decayed] = v as number[];
        this.entries.set(id, { lastMs: lastMs!, heat: { countedMs: countedMs!, binMs: binMs!, count: count!, hmm: hmm!, decayed: decayed! } });
      }
    }
  }

  /** Version 1 (last access and the last 16 read times per extent): the reads are counted again, in order. */
  private loadVersion1(doc: Record<string, unknown>, file: string): void {
    if (typeof doc.lastMs !== 'object' || doc.lastMs === null) throw new DfsError('EFORMAT', `the tier access history ${file} has no lastMs object`);
    const reads = typeof doc.readsMs === 'object' && doc.readsMs !== null ? doc.readsMs as Record<string, unknown> : {};
    for (const [id, list] of Object.entries(reads)) {
      if (!Array.isArray(list)) continue;
      for (const t of list.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b)) this.touch(Buffer.from(id, 'hex'), true, t);
    }
    for (const [id, ms] of Object.entries(doc.lastMs as Record<string, unknown>)) {
      if (typeof ms !== 'number') continue;
      const e = this.entries.get(id);
      if (e) e.lastMs = ms;
      else this.entries.set(id, { lastMs: ms });
    }
    this.dirty = true; // rewritten as version 2 at the next save
  }
}
