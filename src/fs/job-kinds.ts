/**
 * The job kinds of this layer, which the engine's runner cannot import: whoever opens a
 * pool to run jobs (admin/client.ts for a local run, the coordinator) passes them to
 * openEngine. A process that opens a pool without them leaves such jobs queued.
 */
import type { MoreJobKinds } from '../engine/open';
import { receiveKind } from './receive';

export const FS_JOB_KINDS: MoreJobKinds = { receive: receiveKind };
