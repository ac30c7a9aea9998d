/**
 * `benchmark`: write and read throughput and small-file ops/s through the engine,
 * against a raw sequential write of the same filesystem measured in the same run (see
 * engine/benchmark.ts). Its files live under a scratch directory of the pool that is
 * removed afterwards, whatever happens.
 */
import { randomBytes } from 'node:crypto';
import { runBenchmark, type BenchmarkResult } from '../benchmark';
import { Namespace } from '../../fs/namespace';
import { num } from '../args';
import { progressOf, type AdminOp } from '../context';

export interface BenchmarkArgs {
  fileSize: number;
  operations: number;
}

export type BenchmarkData = BenchmarkResult;

export const benchmark: AdminOp<BenchmarkArgs, BenchmarkData> = async (engine, args, ctx) => {
  const fileSize = num('benchmark', args, 'fileSize', 1);
  const operations = num('benchmark', args, 'operations', 1);
  const ns = new Namespace(engine.meta, engine);
  // Unique per run: a coordinator may run two at once.
  const dir = `/.dynamicfs-benchmark-${process.pid}-${randomBytes(4).toString('hex')}`;
  ns.mkdir(dir);
  let bar = progressOf(ctx, 'benchmark', fileSize);
  try {
    return await runBenchmark(engine, {
      fileSize, operations, dir,
      onPhase: (phase) => {
        bar.stop();
        ctx.onPhase?.(phase);
        bar = progressOf(ctx, phase.split(' ')[0]!, fileSize);
      },
      onProgress: (n) => bar.add(n),
    });
  } finally {
    bar.stop();
    await ns.rm(dir, { recursive: true });
  }
};
