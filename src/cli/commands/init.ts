/**
 * `dynamicfs init POOL`: create a pool directory (superblock, metadata store, lock)
 * with its default redundancy and extent size. Disks are added afterwards.
 */
import type { Command } from 'commander';
import { auditLocal } from '../../admin/audit';
import { attachEngine } from '../../engine/open';
import { sqliteStore } from '../../meta/sqlite/sqlite-store';
import { DEFAULT_EXTENT_SIZE, DEFAULT_INLINE_MAX, DEFAULT_POLICY, Pool } from '../../pool/pool';
import { parsePolicy, width } from '../../pool/policy';
import { humanBytes, keyValues, parseBytes } from '../format';
import type { CliContext } from '../verb';

export interface InitData {
  pool: string;
  uuid: string;
  policy: string;
  /** Disks one extent spreads over: the pool needs at least this many to store data. */
  width: number;
  extentSize: number;
  inlineMax: number;
}

/** Create the pool and report its identity and defaults. */
export async function initPool(dir: string, opts: { redundancy?: string; extentSize?: string }): Promise<InitData> {
  const extentSize = opts.extentSize === undefined ? undefined : parseBytes(opts.extentSize, '--extent-size');
  const engine = attachEngine(Pool.create(dir, sqliteStore, { policy: opts.redundancy, extentSize }));
  try {
    const sb = engine.pool.superblock;
    return { pool: engine.pool.dir, uuid: sb.uuid, policy: sb.policy, width: width(parsePolicy(sb.policy)),
      extentSize: sb.extentSize, inlineMax: sb.inlineMax };
  } finally {
    await engine.close();
  }
}

function render(d: InitData): string {
  const p = parsePolicy(d.policy);
  return [
    `created pool ${d.pool}`,
    keyValues([
      ['uuid', d.uuid],
      ['redundancy', `${d.policy} (${p.k + p.m} fragments per extent, any ${p.m} may be lost)`],
      ['extent size', humanBytes(d.extentSize)],
      ['inline max', `${humanBytes(d.inlineMax)} (smaller extents live in the metadata store)`],
    ], '  '),
    `next: add at least ${d.width} disks with \`dynamicfs add-disk ${d.pool} DIR\``,
  ].join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program.command('init')
    .summary('create a new pool')
    .description('Create a new pool in POOL (a new or empty directory): the superblock pool.json, the metadata store '
      + 'meta.db and the lock file. Add disks to it with add-disk before storing files.')
    .argument('<pool>', 'pool directory to create (must not exist, or be empty)')
    .option('--redundancy <policy>', `default redundancy for new files: rs:K+M (Reed-Solomon, K data + M parity `
      + `fragments, survives M lost disks) or mirror:N (N full copies). Default ${DEFAULT_POLICY}: survives two `
      + 'lost disks for 50% overhead, where mirror:3 needs 200%.')
    .option('--extent-size <bytes>', `bytes of file data per extent, the unit of encoding and placement (64k to 256M, a `
      + `multiple of 4096; suffixes k, M, G). Default ${humanBytes(DEFAULT_EXTENT_SIZE)}: with rs:4+2 that is 1 MiB `
      + 'per fragment, large enough that per-file costs vanish against the transfer, small enough that a partial '
      + 'rewrite or degraded read moves little.')
    .addHelpText('after', `\nFiles up to ${humanBytes(DEFAULT_INLINE_MAX)} are stored inline in the metadata store.\n\n`
      + 'Example:\n  dynamicfs init /srv/pool --redundancy rs:4+2')
    .action(async (dir: string, opts: { redundancy?: string; extentSize?: string }) => {
      const started = Date.now();
      const d = await initPool(dir, opts);
      auditLocal(d.pool, 'init', { redundancy: opts.redundancy ?? null, extentSize: opts.extentSize ?? null }, started);
      ctx.emit(d, render);
    });
}
