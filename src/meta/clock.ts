/**
 * The clock metadata writes read (event, job and verification times). Recording pins it
 * around each write and replay pins it to the recorded value, so a replayed write stores
 * exactly the times the original did (redo-log.ts).
 */
let pinned: number | undefined;

/** Milliseconds since the epoch: the pinned time while a write is recorded or replayed. */
export function now(): number {
  return pinned ?? Date.now();
}

/** Run fn with now() answering `ms`. */
export function atClock<T>(ms: number, fn: () => T): T {
  const before = pinned;
  pinned = ms;
  try {
    return fn();
  } finally {
    pinned = before;
  }
}
