/** `dynamicfs receive POOL [-i FILE] [--path DEST] [--snapshot NAME] [--force] [--resume] [--status]`: apply a send stream. */
import * as path from 'node:path';
import type { Command } from 'commander';
import { invoke } from '../../admin/client';
import type { ReceiveData, ReceiveStatusData } from '../../admin/ops';
import { DfsError } from '../../errors';
import { humanBytes, plural } from '../format';
import { jsonOf, localContext, type RegisterVerb } from '../verb';
import { jobLine } from './jobs';

function render(d: ReceiveData): string {
  const kind = d.from === null ? 'full stream' : `incremental from ${d.from} (here: ${d.base})`;
  return `received ${d.snapshot} (${kind}) at ${d.root}${d.resumed ? ', resumed' : ''}: ${plural(d.entries, 'entry', 'entries')}, `
    + `${plural(d.deletes, 'delete')}, ${plural(d.dataRecords, 'data record')}, ${humanBytes(d.bytes)} of stream; snapshot ${d.snapshot} (guid ${d.guid})`;
}

function renderStatus(d: ReceiveStatusData): string {
  const r = d.receive;
  if (!r) return 'no receive is unfinished';
  return [`receive job ${jobLine(r.job)}`, `  stream ${r.stream}${r.from ? ` (incremental from ${r.from})` : ''} from ${r.input === '-' ? 'stdin' : r.input} into ${r.dest}`,
    `  resume token ${r.token} (job:offset:record): byte ${r.offset}, record ${r.record}`, ...(r.waiting ? [`  waiting for ${r.waiting}`] : [])].join('\n');
}

export const register: RegisterVerb = (program: Command, ctx) => {
  program.command('receive')
    .summary('apply a `send` stream to this pool, verified, all at once')
    .description('Reads a stream `dynamicfs send` wrote (from -i FILE, else stdin) and applies it as the persistent job `receive`: every record\'s '
      + 'BLAKE3 and every extent\'s bytes are verified before anything is committed, extents are written at this pool\'s redundancy, and nothing '
      + 'shows until one last transaction makes the whole tree visible and records the snapshot with the sender\'s guid. A full stream goes to '
      + '--path (a new path or an empty directory; default /, an empty pool\'s root); an incremental goes where its base snapshot is (found '
      + 'by guid, whatever its name here) and needs that tree unchanged since, or --force to roll it back first. A damaged or truncated stream '
      + 'fails naming the record and its byte offset (EDIGEST, EFORMAT) and leaves the pool as it was. Killed, a receive resumes after its '
      + 'last committed record: `receive POOL --resume` with the same stream (-i FILE seeks there; stdin is read again from its start); '
      + '`--status` prints the resume token. With a coordinator running only -i FILE works (it resumes a stopped receive from its file by itself).')
    .argument('<pool>', 'pool directory')
    .option('-i, --input <file>', 'read the stream from FILE instead of stdin')
    .option('--path <dest>', 'where the received tree goes (a full stream: a new path or an empty directory; default /)')
    .option('--snapshot <name>', 'name of the received snapshot here (default: the sender\'s)')
    .option('--force', 'an incremental whose destination changed since its base: roll it back to the base first (what changed there is lost)')
    .option('--resume', 'go on with the unfinished receive after its last committed record, reading the same stream')
    .option('--status', 'show the unfinished receive and its resume token (job:offset:record); reads no stream')
    .action(async (pool: string, o: { input?: string; path?: string; snapshot?: string; force?: boolean; resume?: boolean; status?: boolean }, cmd: Command) => {
      if (o.status) {
        if (o.input || o.path || o.snapshot || o.force || o.resume) throw new DfsError('EUSAGE', '--status takes no other option: it only shows the unfinished receive');
        ctx.emit(await invoke(pool, 'receive-status', {}), renderStatus);
        return;
      }
      const stdin = o.input === undefined || o.input === '-';
      if (stdin && process.stdin.isTTY) throw new DfsError('EINVAL', 'receive reads a stream and stdin is a terminal: pipe one in (dynamicfs send POOL SNAP | ...) or give -i FILE');
      const data = await invoke(pool, 'receive', { input: stdin ? '-' : path.resolve(o.input!), path: o.path, snapshot: o.snapshot, force: o.force, resume: o.resume }, {
        local: localContext(jsonOf(cmd), stdin),
        ...(stdin ? { localOnly: 'stdin cannot be sent over its admin socket: save the stream to a file and give -i FILE' } : {}),
      });
      ctx.emit(data, render);
    });
};
