/**
 * `check`, each disk's copy of the metadata (pool/meta-check.ts says what is verified):
 * one problem per fault, naming the disk. --repair gives each disk with a fault a fresh
 * checkpoint of the store's last commit, the path a stale disk takes (MetaCopies.renew).
 * Absent disks are not read (check-fragments.ts lists them as skipped).
 */
import type { Pool } from '../pool/pool';
import { problem, settle, type CheckProblem } from './check-problems';

export async function checkMetaCopies(pool: Pick<Pool, 'copies'>, repair: boolean): Promise<CheckProblem[]> {
  const problems = (await pool.copies.inspect()).flatMap((d) =>
    d.findings.map((f) => problem(f.kind, `metadata copy on disk ${d.diskId}: ${f.message}`, { disk: d.diskId })));
  if (!repair || problems.length === 0) return problems;
  const renewed = await pool.copies.renew([...new Set(problems.map((p) => p.disk!))]);
  for (const p of problems) {
    const r = renewed.get(p.disk!)!;
    if (r.error === null) settle(p, true, `a fresh checkpoint (generation ${r.generation}) written to the disk`);
    else settle(p, false, `a fresh checkpoint could not be written: ${r.error}`);
  }
  return problems;
}
