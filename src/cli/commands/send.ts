/** `dynamicfs send POOL SNAP [--from SNAP0] [-o FILE]`: a snapshot's tree as a verified stream (full, or incremental from SNAP0). */
import * as path from 'node:path';
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { SendData } from '../../admin/ops';
import { DfsError } from '../../errors';
import { humanBytes, plural } from '../format';
import { jsonOf, localContext, type RegisterVerb } from '../verb';

function render(d: SendData): string {
  const kind = d.from === null ? 'full stream' : `incremental stream from ${d.from}`;
  return `sent ${d.snapshot} (${kind}) to ${d.output}: ${humanBytes(d.bytes)}, ${plural(d.entries, 'entry', 'entries')}, `
    + `${plural(d.deletes, 'delete')}, ${plural(d.dataRecords, 'data record')} (${humanBytes(d.dataBytes)})`;
}

export const register: RegisterVerb = (program: Command, ctx) => {
  program.command('send')
    .summary('write a snapshot (or what changed since an earlier one) as a stream for `receive`')
    .description('Writes snapshot SNAP\'s tree as a stream of framed records, each with its own BLAKE3 chained to the one before '
      + '(docs/FORMAT.md, "Send streams"): a header (the snapshot\'s name and guid, the base\'s for an incremental), an entry per '
      + 'file, directory, symlink and special file (modes, owners, times, xattrs, hard links), each file\'s bytes as data records, '
      + 'and an end record. With --from SNAP0 only what changed since SNAP0 travels (an incremental; --from the last full gives '
      + 'a differential): names gone, changed entries, and the bytes of extents SNAP0 did not hold. `dynamicfs receive` applies it '
      + 'to another pool, or this one under another path. Every byte is read verified. A received snapshot sends its own tree '
      + '(the path it was received at). Without -o the stream goes to stdout, which must not be a terminal (and, with a '
      + 'coordinator running, cannot: give -o FILE).')
    .argument('<pool>', 'pool directory')
    .argument('<snap>', 'the snapshot to send')
    .option('--from <snap0>', 'send only what changed since this earlier snapshot of the same tree (incremental)')
    .option('-o, --output <file>', 'write the stream to FILE (made durable before send answers) instead of stdout')
    .action(async (pool: string, snap: string, o: { from?: string; output?: string }, cmd: Command) => {
      const json = jsonOf(cmd);
      const stdout = o.output === undefined || o.output === '-';
      if (stdout && json) throw new DfsError('EINVAL', '--json and a stream on stdout cannot be combined: the stream\'s bytes would mix with the JSON; give -o FILE');
      if (stdout && process.stdout.isTTY) {
        throw new DfsError('EINVAL', 'send writes a binary stream and stdout is a terminal: redirect it (> FILE, | dynamicfs receive POOL2) or give -o FILE');
      }
      const data = await invoke(pool, 'send', { snapshot: snap, from: o.from, output: stdout ? '-' : path.resolve(o.output!) }, {
        local: localContext(json, stdout),
        ...(stdout ? { localOnly: 'the stream cannot come back over its admin socket to stdout: give -o FILE' } : {}),
      });
      if (stdout) return; // stdout carried the stream itself
      ctx.emit(data, render);
    });
};
