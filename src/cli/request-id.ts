/**
 * `--request-id ID` on the verbs that start a job (scrub, rebuild, drain, compact,
 * replace-disk, upgrade) or change a disk (add-disk, remove-disk, set-disk-health, probe-disks):
 * the id names the request in the coordinator's log, the audit log, the job's params, the
 * disk events it records and every event the job causes, so `dynamicfs events POOL
 * --request ID` finds them. Without it the coordinator (or a local run) makes one up.
 */
import type { Command } from 'commander';
import { REQ_ID_PATTERN, REQ_ID_RULE } from '../rpc/frame';
import { DfsError } from '../errors';

export function withRequestId(cmd: Command): Command {
  return cmd.option('--request-id <id>', `name this request (${REQ_ID_RULE}); its job and events carry it: \`dynamicfs events POOL --request ID\``);
}

/** The checked `--request-id`, as invoke's option; EUSAGE naming the option when malformed. */
export function requestIdOf(o: { requestId?: string }): { reqId?: string } {
  if (o.requestId === undefined) return {};
  if (!REQ_ID_PATTERN.test(o.requestId)) throw new DfsError('EUSAGE', `--request-id "${o.requestId}" is not ${REQ_ID_RULE}`);
  return { reqId: o.requestId };
}
