/**
 * The hash chain across the disks' metadata copies (docs/FORMAT.md, "Metadata area"):
 * each area knows the chain's value at every generation it holds (its checkpoint's, then
 * each record's seal). Where copies disagree at a generation, the value most of them hold
 * is the pool's; a copy holding another at any generation has diverged (it was away and
 * went on elsewhere) and is neither healed from nor taken as current.
 */
import type { Area } from './meta-area';
import { NO_CHAIN } from './meta-format';

/** The chain's value at each generation the area holds (an unknown checkpoint chain is left out). */
function valuesOf(a: Area): Map<number, string> {
  const out = new Map<number, string>();
  const anchor = a.head.checkpoint.chain;
  if (anchor !== NO_CHAIN.toString('hex')) out.set(a.head.checkpoint.generation, anchor);
  for (const r of a.records) out.set(r.generation, r.seal.toString('hex'));
  return out;
}

/** Per generation, the value held by more copies than any other (a tie has none). */
function majority(areas: readonly Area[]): Map<number, string> {
  const counts = new Map<number, Map<string, number>>();
  for (const a of areas) {
    for (const [g, v] of valuesOf(a)) {
      const at = counts.get(g) ?? new Map<string, number>();
      at.set(v, (at.get(v) ?? 0) + 1);
      counts.set(g, at);
    }
  }
  const out = new Map<number, string>();
  for (const [g, at] of counts) {
    const ranked = [...at].sort((x, y) => y[1] - x[1]);
    if (ranked.length === 1 || ranked[0]![1] > ranked[1]![1]) out.set(g, ranked[0]![0]);
  }
  return out;
}

/** The areas that agree with the others wherever they overlap, and those that do not. */
export function splitDiverged(areas: readonly Area[]): { agreed: Area[]; diverged: Area[] } {
  const pool = majority(areas);
  const diverged = areas.filter((a) => [...valuesOf(a)].some(([g, v]) => pool.has(g) && pool.get(g) !== v));
  return { agreed: areas.filter((a) => !diverged.includes(a)), diverged };
}

/** The chain's value at generation `g` as most of `areas` hold it; NO_CHAIN when none (or a tie) says. */
export function chainAt(areas: readonly Area[], g: number): Buffer {
  const v = majority(areas).get(g);
  return v === undefined ? NO_CHAIN : Buffer.from(v, 'hex');
}
