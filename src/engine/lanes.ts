/**
 * Bounded concurrency for the pipelines: a fixed number of fragment reads in flight
 * (scrub), or extents worked on at once to a width a setting gives (rebuild).
 */

/** fn over items with at most n in flight; results in order. */
export async function lanes<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  return out;
}

/**
 * fn over items, started in order, at most width() at once (at least one). width is asked
 * whenever an item could start, so a changed setting applies at the next item. After a
 * failure no item starts; those in flight finish (work is never abandoned half done),
 * then the first failure is thrown. `started` hears how many are in flight after each start.
 */
export function eachInLanes<T>(items: readonly T[], width: () => number, fn: (t: T) => Promise<void>, started?: (inFlight: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let inFlight = 0;
    let failure: { err: unknown } | undefined;
    const room = (): boolean => {
      try {
        return inFlight < Math.max(1, Math.floor(width()));
      } catch (err) {
        failure ??= { err };
        return false;
      }
    };
    const pump = (): void => {
      while (!failure && next < items.length && room()) {
        const item = items[next++]!;
        inFlight++;
        started?.(inFlight);
        let run: Promise<void>;
        try {
          run = fn(item);
        } catch (err) {
          run = Promise.reject(err);
        }
        run.catch((err: unknown) => { failure ??= { err }; }).finally(() => {
          inFlight--;
          pump();
        });
      }
      if (inFlight > 0 || (!failure && next < items.length)) return;
      if (failure) reject(failure.err);
      else resolve();
    };
    pump();
  });
}
