/** Benchmark timing: repeat an operation for a fixed wall time per sample, report the median rate. */

export interface Rate {
  /** Operations per second (median of the samples). */
  opsPerSec: number;
}

export function measureSync(op: () => void, samples = 5, sampleSeconds = 0.2): Rate {
  for (let i = 0; i < 3; i++) op(); // warm: page in buffers, build codec tables
  const rates: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = process.hrtime.bigint();
    let n = 0;
    let elapsed = 0;
    do {
      op();
      n++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    } while (elapsed < sampleSeconds);
    rates.push(n / elapsed);
  }
  return { opsPerSec: median(rates) };
}

export async function measureAsync(op: () => Promise<void>, samples = 3, sampleSeconds = 0.5): Promise<Rate> {
  await op();
  const rates: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = process.hrtime.bigint();
    let n = 0;
    let elapsed = 0;
    do {
      await op();
      n++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    } while (elapsed < sampleSeconds);
    rates.push(n / elapsed);
  }
  return { opsPerSec: median(rates) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
