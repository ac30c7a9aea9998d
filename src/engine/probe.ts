/**
 * `probe-disks`: a deliberate check of every disk, beyond what the monitor sees. Per
 * disk: its label (missing → failed; another pool's or another disk's → failed: the
 * wrong disk is mounted there), a write + fsync + read-back of a probe file in DISK/tmp
 * with its latency, and free space. Findings move the disk through the health model
 * (source `probe`); a probe never makes a disk better.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DiskState } from '../meta/records';
import { healthConfig } from '../pool/health';
import { readLabel } from '../pool/label';
import type { Engine } from './engine';

const PROBE_BYTES = 64 * 1024;

export interface ProbeResult {
  id: number;
  path: string;
  stateBefore: DiskState;
  state: DiskState;
  label: 'ok' | 'missing' | 'foreign' | 'unreadable';
  /** Write + fsync + read-back round trip, ms; null when it could not be done. */
  latencyMs: number | null;
  capacityBytes: number;
  freeBytes: number;
  /** What is wrong, or null. */
  problem: string | null;
}

export async function probeDisks(engine: Engine): Promise<ProbeResult[]> {
  const cfg = healthConfig(engine.meta);
  const sb = engine.pool.superblock;
  const out: ProbeResult[] = [];
  for (const d of engine.pool.disks()) {
    let label: ProbeResult['label'] = 'ok';
    let problem: string | null = null;
    let want: DiskState | undefined;
    try {
      const l = readLabel(d.path);
      if (!l) label = 'missing';
      else if (l.poolUuid !== sb.uuid || l.diskUuid !== d.uuid) label = 'foreign';
    } catch {
      label = 'unreadable';
    }
    if (label !== 'ok') {
      want = 'failed';
      problem = { missing: `no disk label at ${d.path}: the disk is gone or not mounted there`,
        foreign: `the label at ${d.path} belongs to ${'another disk or pool'}: the wrong disk is mounted there`,
        unreadable: `the label at ${d.path} cannot be read` }[label];
    }
    let latencyMs: number | null = null;
    if (label === 'ok') {
      try {
        latencyMs = await roundTrip(d.path);
        if (latencyMs > cfg.suspectLatencyMs) {
          want = 'suspect';
          problem = `probe took ${latencyMs.toFixed(0)} ms (limit ${cfg.suspectLatencyMs} ms)`;
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
        want = code === 'EROFS' || code === 'EACCES' || code === 'ENOSPC' ? 'suspect' : 'failed';
        problem = `probe write/read failed: ${code} (${(err as Error).message})`;
      }
    }
    const space = label === 'ok' ? await engine.pool.store(d.id).space() : { capacityBytes: 0, freeBytes: 0 };
    if (want) engine.health.degrade(d.id, want, 'probe', problem!);
    const now = engine.pool.disk(d.id)!;
    out.push({ id: d.id, path: d.path, stateBefore: d.state, state: now.state, label, latencyMs, ...space, problem });
  }
  return out;
}

/** Write a probe file, fsync it, read it back and compare; the elapsed ms. */
async function roundTrip(root: string): Promise<number> {
  const dir = path.join(root, 'tmp');
  await fs.promises.mkdir(dir, { recursive: true });
  const file = path.join(dir, `probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  const data = randomBytes(PROBE_BYTES);
  const t0 = process.hrtime.bigint();
  try {
    const fh = await fs.promises.open(file, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const back = await fs.promises.readFile(file);
    if (!back.equals(data)) throw Object.assign(new Error('read-back differs from what was written'), { code: 'EIO' });
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    await fs.promises.rm(file, { force: true });
  }
}
