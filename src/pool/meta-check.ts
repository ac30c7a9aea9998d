/**
 * `check`'s look at one disk's metadata copy (docs/FORMAT.md "Metadata area"): the head
 * verifies and names this pool and disk, the checkpoint matches the head's length and
 * BLAKE3, the log's records verify and follow each other from the checkpoint to the end of
 * the file, and the newest generation is the store's, with the store's hash chain value. Reads only: MetaCopies.renew repairs.
 */
import * as fs from 'node:fs';
import { areaOf, headPath, verifyCheckpoint } from './meta-area';
import { openHead, type AreaHead } from './meta-format';

export type CopyFault = 'meta-copy-missing' | 'meta-head-corrupt' | 'meta-checkpoint-corrupt' | 'meta-log-corrupt' | 'meta-copy-stale'
  | 'meta-copy-diverged';

export interface CopyFinding {
  kind: CopyFault;
  message: string;
}

/**
 * What is wrong with the copy on disk `root` (disk `diskUuid` of pool `poolUuid`) against
 * the store at `generation`, whose hash chain's value there is `chain`; [] when nothing.
 */
export function inspectCopy(root: string, poolUuid: string, diskUuid: string, generation: number, chain: Buffer): CopyFinding[] {
  const file = headPath(root);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return [{ kind: 'meta-copy-missing', message: `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): the disk holds no metadata copy` }];
  }
  let head: AreaHead;
  try {
    head = openHead(text, file);
  } catch (err) {
    return [{ kind: 'meta-head-corrupt', message: (err as Error).message }];
  }
  if (head.poolUuid !== poolUuid || head.diskUuid !== diskUuid) {
    return [{ kind: 'meta-head-corrupt', message: `${file} names disk ${head.diskUuid} of pool ${head.poolUuid}, not this disk (${diskUuid}) of this pool (${poolUuid})` }];
  }
  const out: CopyFinding[] = [];
  const area = areaOf(root, head);
  const ckpt = verifyCheckpoint(area);
  if ('fault' in ckpt) out.push({ kind: 'meta-checkpoint-corrupt', message: `checkpoint ${head.checkpoint.file} (generation ${head.checkpoint.generation}) on ${root} ${ckpt.fault}` });
  if (area.logLength < 0) {
    out.push({ kind: 'meta-log-corrupt', message: `log ${head.log} on ${root} is missing: the copy holds no generation after its checkpoint's (${head.checkpoint.generation})` });
  } else if (area.logEnd < area.logLength) {
    out.push({ kind: 'meta-log-corrupt', message: `log ${head.log} on ${root}: its ${area.logLength - area.logEnd} bytes from byte ${area.logEnd} on (after generation `
      + `${area.newest}) do not verify or do not follow on; the copy ends at generation ${area.newest}, the store is at ${generation}` });
  } else if (area.newest !== generation) {
    // A damaged log explains a short copy already; this is a copy whose own bytes are sound.
    out.push({ kind: 'meta-copy-stale', message: `the copy on ${root} holds generation ${area.newest}, the store is at ${generation}` });
  } else if (!area.seal.equals(chain)) {
    out.push({ kind: 'meta-copy-diverged', message: `the copy on ${root} holds generation ${generation} with another history: its hash chain there is `
      + `${area.seal.toString('hex').slice(0, 16)}..., the pool's ${chain.toString('hex').slice(0, 16)}...` });
  }
  return out;
}
