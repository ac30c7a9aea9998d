/**
 * vacuumInto on a worker thread (one per checkpoint: they are rare), so that a coordinator
 * keeps serving while a large store is copied and verified. Errors come back as data: an Error thrown
 * in a worker loses its code on the way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { holdPoint } from '../../log/fault-points';
import { vacuumInto } from './vacuum';

const { file, target } = workerData as { file: string; target: string };
try {
  const copy = vacuumInto(file, target);
  holdPoint('meta-checkpoint-copied');
  parentPort!.postMessage({ copy });
} catch (err) {
  parentPort!.postMessage({ error: (err as Error).message, code: (err as { code?: string }).code ?? null });
}
