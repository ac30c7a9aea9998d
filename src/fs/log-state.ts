/**
 * What of one open file the intent log must still carry: byte ranges written and the
 * lowest size truncated to, tracked twice — since the file's last log record (what the
 * next fsync appends) and since its last metadata transaction (what a group commit that
 * empties the log leaves out, so the next fsync must log it again).
 */

/** Ranges a delta tracks one by one; past this (scattered writes) it only knows "too much" and fsync commits the group. */
const MAX_RANGES = 1024;

/** Written ranges ([start, end), sorted, disjoint) and the lowest size a truncate set. */
export class Delta {
  ranges: [number, number][] = [];
  truncatedTo: number | undefined;
  /** More ranges than MAX_RANGES were written: the ranges are no longer known. */
  overflow = false;

  get empty(): boolean {
    return this.ranges.length === 0 && this.truncatedTo === undefined && !this.overflow;
  }

  /** Bytes the ranges cover. */
  get bytes(): number {
    let n = 0;
    for (const [a, b] of this.ranges) n += b - a;
    return n;
  }

  add(start: number, end: number): void {
    if (end <= start || this.overflow) return;
    const r = this.ranges;
    const last = r[r.length - 1];
    if (last && start <= last[1] && start >= last[0]) { // the common case: appending, or rewriting the last range
      last[1] = Math.max(last[1], end);
      return;
    }
    // First range ending at or after start, then every range it overlaps or touches.
    let lo = 0, hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (r[mid]![1] < start) lo = mid + 1;
      else hi = mid;
    }
    let j = lo, s = start, e = end;
    while (j < r.length && r[j]![0] <= e) {
      s = Math.min(s, r[j]![0]);
      e = Math.max(e, r[j]![1]);
      j++;
    }
    r.splice(lo, j - lo, [s, e]);
    if (r.length > MAX_RANGES) {
      this.overflow = true;
      this.ranges = [];
    }
  }

  truncate(size: number): void {
    this.truncatedTo = Math.min(this.truncatedTo ?? size, size);
  }

  /** A new delta holding both. */
  union(other: Delta | undefined): Delta {
    const d = new Delta();
    d.overflow = this.overflow || !!other?.overflow;
    for (const [a, b] of [...this.ranges, ...(other?.ranges ?? [])]) d.add(a, b);
    for (const t of [this.truncatedTo, other?.truncatedTo]) if (t !== undefined) d.truncate(t);
    return d;
  }
}

/** A file with more than this not in its extents is taken whole by the next group commit, not carried. */
const CARRY_MAX_BYTES = 4 * 1024 * 1024;

export class LogState {
  /** Not in a log record of the current log (the next fsync appends it). */
  private toLog = new Delta();
  /** Not in a metadata transaction yet. */
  private uncommitted = new Delta();
  /** Taken by a metadata transaction in progress (its group may commit before it does). */
  private capturing: Delta | undefined;
  /** The file's commit ran (or runs) in the open group: the group changes its extents. */
  private committedInGroup = false;
  /** While a group commit carries this file's records over, its commits wait. */
  private hold: Promise<void> | undefined;
  private unhold: (() => void) | undefined;

  wrote(pos: number, length: number): void {
    this.toLog.add(pos, pos + length);
    this.uncommitted.add(pos, pos + length);
  }

  truncated(size: number): void {
    this.toLog.truncate(size);
    this.uncommitted.truncate(size);
  }

  /** Run the file's commit: what was written before it starts, it records. */
  async capture<T>(commit: () => Promise<T>): Promise<T> {
    while (this.hold) await this.hold;
    this.committedInGroup = true;
    const taken = this.uncommitted;
    this.uncommitted = new Delta();
    this.capturing = taken;
    try {
      return await commit();
    } catch (err) {
      this.uncommitted = taken.union(this.uncommitted);
      throw err;
    } finally {
      this.capturing = undefined;
    }
  }

  /** Everything written is in the log or in a committed group (the next fsync appends nothing). */
  get allLogged(): boolean {
    return this.toLog.empty;
  }

  /** What the next log record must carry; give it back if the append fails. */
  take(): Delta {
    const d = this.toLog;
    this.toLog = new Delta();
    return d;
  }

  giveBack(d: Delta): void {
    this.toLog = d.union(this.toLog);
  }

  /** The open group leaves the file's extents alone, and can keep doing so until it commits. */
  get carriable(): boolean {
    return !this.committedInGroup && this.capturing === undefined && !this.uncommitted.overflow && this.uncommitted.bytes <= CARRY_MAX_BYTES;
  }

  /** A group commit carries this file's records: no commit of the file starts until it is over. */
  holdCommits(): void {
    this.hold ??= new Promise<void>((r) => { this.unhold = r; });
  }

  releaseCommits(): void {
    const r = this.unhold;
    this.hold = this.unhold = undefined;
    r?.();
  }

  /**
   * A group committed. Carried over, the file's records stay valid and only the new
   * writes go to the next one; otherwise they are obsolete, and what no metadata
   * transaction recorded must be logged again.
   */
  groupCommitted(carried: boolean): void {
    if (!carried) this.toLog = this.uncommitted.union(this.capturing);
    this.committedInGroup = this.capturing !== undefined;
  }
}
