/**
 * What an extent's tier policy asks of it now: the tier its writes go to (foreground),
 * the tier it moves to once idle and not hot (background), whether it is idle, whether
 * the heat classifier tier.classifier names (heat.ts, over tier-access.ts's counts) calls
 * it hot (then, with promotion on, it moves back to the foreground tier; a hot extent is
 * never moved down), and where its fragments lie. The migration job (tier-migrate.ts) and
 * `tier status` judge by this.
 *
 * The policy is its file's user.dynamicfs.tier (a pack: its first file's; packs are kept
 * apart by tier) with the pool's settings for what that leaves out. The foreground tier
 * is the first along the fallback order that has disks (as placement takes it); the
 * background tier is none when it has no disks or is the foreground tier: extents are
 * never moved to some other tier instead.
 */
import { sectionSettings } from '../config/values';
import { PACK_INO, type Extent, type Tier } from '../meta/records';
import { parsePolicy, type Policy } from '../pool/policy';
import { tierOrder, tierPolicyOf } from '../pool/tier-policy';
import type { EngineServices } from './context';
import type { ClassifierName } from './heat';

type Engine = Pick<EngineServices, 'meta' | 'pool' | 'access'>;

export interface PolicySettings {
  foreground: Tier;
  background: Tier | null;
  demoteAfterSeconds: number;
  promote: boolean;
  promoteReads: number;
  promoteWindowSeconds: number;
  classifier: ClassifierName;
  migrateEvery: number;
  migrateRate: number;
}

export function policySettings(engine: Pick<EngineServices, 'meta'>): PolicySettings {
  return sectionSettings<PolicySettings>(engine.meta, 'tier');
}

export interface ExtentIntent {
  /** The file the extent is written for (a pack: its first file), if any is left. */
  owner: number | undefined;
  /** Its file's redundancy, with the foreground tier it asks for. */
  policy: Policy;
  foreground: Tier;
  background: Tier | null;
  demoteAfterSeconds: number;
  /** Not read or written for demoteAfterSeconds. */
  idle: boolean;
  /** The heat classifier (tier.classifier) calls it hot, from the intervals that have ended. */
  hot: boolean;
  /** Promotion is on for it (its user.dynamicfs.tier's promote=, else tier.promote). */
  promote: boolean;
  /** The tier its fragments lie on: one, `mixed`, or null (none on a registered disk). */
  placed: Tier | 'mixed' | null;
}

export function extentIntent(engine: Engine, e: Extent, settings: PolicySettings, tiersPresent: readonly Tier[],
  tierOfDisk: ReadonlyMap<number, Tier>, nowMs: number): ExtentIntent {
  const owner = e.ino === PACK_INO ? engine.meta.packRefs(e.id)[0]?.ino : e.ino;
  const own = owner === undefined ? {} : tierPolicyOf(engine.meta, owner);
  const redundancy = owner === undefined ? null : engine.meta.getInode(owner)?.policy;
  const wantedFg = own.foreground ?? settings.foreground;
  const policy: Policy = { ...(redundancy ? parsePolicy(redundancy) : engine.pool.policy), tier: wantedFg };
  const foreground = tierOrder(wantedFg).find((t) => tiersPresent.includes(t)) ?? wantedFg;
  const bgWanted = own.background !== undefined ? own.background : settings.background;
  const background = bgWanted && bgWanted !== foreground && tiersPresent.includes(bgWanted) ? bgWanted : null;
  const demoteAfterSeconds = own.demoteAfterSeconds ?? settings.demoteAfterSeconds;
  const idle = nowMs - engine.access.lastAccessMs(e.id) >= demoteAfterSeconds * 1000;
  const hot = engine.access.hot(e.id, settings.classifier, nowMs);
  const promote = own.promote ?? settings.promote;
  const on = new Set(e.fragments.map((f) => tierOfDisk.get(f.diskId)).filter((t): t is Tier => t !== undefined));
  const placed = on.size === 0 ? null : on.size === 1 ? [...on][0]! : 'mixed';
  return { owner, policy, foreground, background, demoteAfterSeconds, idle, hot, promote, placed };
}

/** Whether the migration moves the extent down now: idle and not hot, with a background tier it is not wholly on (mixed ones are left to repair). */
export function dueToDemote(i: ExtentIntent): boolean {
  return i.background !== null && i.idle && !i.hot && i.placed !== null && i.placed !== 'mixed' && i.placed !== i.background;
}

/** Whether it moves the extent up now: promotion on, hot, not idle, wholly on a tier other than its foreground one. */
export function dueToPromote(i: ExtentIntent): boolean {
  return i.promote && i.hot && !i.idle && i.placed !== null && i.placed !== 'mixed' && i.placed !== i.foreground;
}

/** Where the migration moves the extent now, if anywhere. */
export function moveTarget(i: ExtentIntent): Tier | null {
  return dueToDemote(i) ? i.background : dueToPromote(i) ? i.foreground : null;
}
