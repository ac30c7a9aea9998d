/**
 * `probe-disks`: a deliberate check of every disk, beyond what the monitor sees, all of
 * it through the disk's FragmentStore. Per disk: its label (missing → failed; another
 * pool's or another disk's → failed: the wrong disk is mounted there), a write + sync +
 * read-back round trip with its latency, and free space. Findings move the disk through
 * the health model (source `probe`); a probe never makes a disk better.
 */
import type { DiskState } from '../meta/records';
import { healthConfig } from '../pool/health';
import type { LabelStatus } from '../pool/label';
import { LABEL_PROBLEM } from './disk-health';
import type { EngineServices } from './context';

type Engine = Pick<EngineServices, 'pool' | 'meta' | 'health'>;

const PROBE_BYTES = 64 * 1024;

export interface ProbeResult {
  id: number;
  path: string;
  stateBefore: DiskState;
  state: DiskState;
  label: LabelStatus;
  /** Write + sync + read-back round trip, ms; null when it could not be done. */
  latencyMs: number | null;
  capacityBytes: number;
  freeBytes: number;
  /** What is wrong, or null. */
  problem: string | null;
}

/** Probe every disk; a finding moves its state, the event carrying `reqId` (the probe-disks request). */
export async function probeDisks(engine: Engine, reqId?: string): Promise<ProbeResult[]> {
  const cfg = healthConfig(engine.meta);
  const out: ProbeResult[] = [];
  for (const d of engine.pool.disks()) {
    const store = engine.pool.store(d.id);
    const label = await engine.health.checkLabel(d);
    let problem: string | null = null;
    let want: DiskState | undefined;
    let latencyMs: number | null = null;
    let space = { capacityBytes: 0, freeBytes: 0 };
    if (label !== 'ok') {
      want = 'failed';
      problem = LABEL_PROBLEM[label](d.path);
    } else {
      try {
        latencyMs = await store.probe(PROBE_BYTES);
        if (latencyMs > cfg.suspectLatencyMs) {
          want = 'suspect';
          problem = `probe took ${latencyMs.toFixed(0)} ms (limit ${cfg.suspectLatencyMs} ms)`;
        }
      } catch (err) {
        const e = err as { code?: string; message?: string; details?: { osCode?: string } };
        const code = e.details?.osCode ?? e.code ?? 'EIO';
        want = code === 'EROFS' || code === 'EACCES' || code === 'ENOSPC' ? 'suspect' : 'failed';
        problem = `probe write/read failed: ${code} (${e.message ?? String(err)})`;
      }
      const s = await store.space();
      space = { capacityBytes: s.capacityBytes, freeBytes: s.freeBytes };
    }
    if (want) engine.health.degrade(d.id, want, 'probe', problem!, reqId);
    const now = engine.pool.disk(d.id)!;
    out.push({ id: d.id, path: d.path, stateBefore: d.state, state: now.state, label, latencyMs, ...space, problem });
  }
  return out;
}
