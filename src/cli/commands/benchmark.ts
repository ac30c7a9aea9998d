/**
 * `dynamicfs benchmark POOL`: write and read throughput and small-file ops/s through
 * the engine, with a raw sequential write of the same size on the same filesystem
 * measured in the same run as the baseline (admin/ops/benchmark.ts). With a coordinator
 * running, it runs there, beside whatever the mount is doing.
 */
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { BenchmarkData } from '../../admin/ops';
import { DfsError } from '../../errors';
import { humanBytes, parseBytes } from '../format';
import { jsonOf, localContext, type RegisterVerb } from '../verb';

export const register: RegisterVerb = (program: Command, ctx) => {
  program.command('benchmark')
    .description('measure sequential write/read MB/s and small-file ops/s through the engine, against a raw sequential write of the same filesystem')
    .argument('<pool>', 'pool directory (needs enough healthy disks for its redundancy)')
    .option('--file-size <bytes>', 'size of the sequential file (e.g. 1G, 256M)', '1G')
    .option('--operations <n>', 'number of small-file (64 KiB) puts and gets', '200')
    .action(async (pool: string, o: { fileSize: string; operations: string }, cmd: Command) => {
      const fileSize = parseBytes(o.fileSize, '--file-size');
      const operations = Number(o.operations);
      if (!Number.isInteger(operations) || operations < 1) throw new DfsError('EINVAL', `--operations ${o.operations}: give a whole number, 1 or more`);
      ctx.emit(await invoke(pool, 'benchmark', { fileSize, operations }, { local: localContext(jsonOf(cmd)) }), human);
    });
};

function human(r: BenchmarkData): string {
  return [
    `policy ${r.policy}, sequential file ${humanBytes(r.file_size)}`,
    `raw sequential write:   ${r.raw_write_mbps} MB/s (baseline, same filesystem)`,
    `engine sequential write: ${r.write_mbps} MB/s  (${r.write_vs_raw}x raw)`,
    `engine sequential read:  ${r.read_mbps} MB/s`,
    `small files (${humanBytes(r.small_file_bytes)}): ${r.put_ops_per_sec} puts/s, ${r.get_ops_per_sec} gets/s over ${r.operations} operations`,
  ].join('\n');
}
