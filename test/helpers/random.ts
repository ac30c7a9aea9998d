/** Seeded randomness so a failing property test can be replayed from its seed. */
import { randomBytes } from 'node:crypto';

export class Rng {
  private state: number;
  /** DFS_SEED replays a failing run (every failure message prints its seed). */
  constructor(readonly seed: number = Number(process.env.DFS_SEED) || randomBytes(4).readUInt32LE(0)) {
    this.state = seed >>> 0 || 1;
  }
  /** xorshift32: uniform 32-bit integers. */
  next(): number {
    let x = this.state;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.state = x;
    return x;
  }
  int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafeSlow(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.next() % xs.length]!;
  }
}

/** Every subset of {0..n-1} with exactly r members. */
export function* combinations(n: number, r: number, start = 0, acc: number[] = []): Generator<number[]> {
  if (acc.length === r) {
    yield [...acc];
    return;
  }
  for (let i = start; i < n; i++) {
    acc.push(i);
    yield* combinations(n, r, i + 1, acc);
    acc.pop();
  }
}
