/**
 * What of one open file the intent log must still carry: byte ranges written and the
 * lowest size truncated to, tracked twice — since the file's last log record (what the
 * next fsync appends) and since its last metadata transaction (what a group commit that
 * empties the log leaves out, so the next fsync must log it again).
 */

/** Written ranges ([start, end), sorted, merged) and the lowest size a truncate set. */
export class Delta {
  ranges: [number, number][] = [];
  truncatedTo: number | undefined;

  get empty(): boolean {
    return this.ranges.length === 0 && this.truncatedTo === undefined;
  }

  add(start: number, end: number): void {
    if (end <= start) return;
    const out: [number, number][] = [];
    let s = start, e = end;
    for (const [a, b] of this.ranges) {
      if (b < s || a > e) out.push([a, b]);
      else { s = Math.min(s, a); e = Math.max(e, b); }
    }
    out.push([s, e]);
    this.ranges = out.sort((x, y) => x[0] - y[0]);
  }

  truncate(size: number): void {
    this.truncatedTo = Math.min(this.truncatedTo ?? size, size);
  }

  /** A new delta holding both. */
  union(other: Delta | undefined): Delta {
    const d = new Delta();
    for (const [a, b] of [...this.ranges, ...(other?.ranges ?? [])]) d.add(a, b);
    for (const t of [this.truncatedTo, other?.truncatedTo]) if (t !== undefined) d.truncate(t);
    return d;
  }
}

export class LogState {
  /** Not in a log record of the current log (the next fsync appends it). */
  private toLog = new Delta();
  /** Not in a metadata transaction yet. */
  private uncommitted = new Delta();
  /** Taken by a metadata transaction in progress (its group may commit before it does). */
  private capturing: Delta | undefined;

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

  /** What the next log record must carry; give it back if the append fails. */
  take(): Delta {
    const d = this.toLog;
    this.toLog = new Delta();
    return d;
  }

  giveBack(d: Delta): void {
    this.toLog = d.union(this.toLog);
  }

  /** A group committed and the log is emptied: what the group did not record must be logged again. */
  groupCommitted(): void {
    this.toLog = this.uncommitted.union(this.capturing);
  }
}
