/**
 * Tier policies: which tier (hot, warm, cold: each disk's `add-disk --tier`) new extents
 * go to, and which they move to once idle. A directory or file carries one in the
 * extended attribute `user.dynamicfs.tier` (`foreground=TIER,background=TIER|none,
 * demoteAfter=DURATION,promote=on|off`, any of them, or just `TIER`); what it leaves out,
 * the pool's settings tier.foreground, tier.background, tier.demoteAfterSeconds and
 * tier.promote say. When the wanted tier cannot hold an extent, placement falls back
 * along `tierOrder`: towards colder tiers first, then back towards hotter ones.
 */
import { DfsError } from '../errors';
import type { Tier } from '../meta/records';

export const TIER_NAMES: readonly Tier[] = ['hot', 'warm', 'cold'];

/** The extended attribute holding a directory's or file's tier policy. */
export const TIER_XATTR = 'user.dynamicfs.tier';

export interface TierPolicy {
  /** The tier new extents go to while it can hold them. */
  foreground?: Tier;
  /** The tier extents move to once not read for demoteAfterSeconds (null: none, they stay). */
  background?: Tier | null;
  demoteAfterSeconds?: number;
  /** Often-read extents off the foreground tier move back to it (thresholds: the pool's settings). */
  promote?: boolean;
}

/** The longest demoteAfter: ten years. */
export const MAX_DEMOTE_SECONDS = 10 * 365 * 86_400;

function tierName(text: string, what: string): Tier {
  if ((TIER_NAMES as readonly string[]).includes(text)) return text as Tier;
  throw new DfsError('EINVAL', `${what} "${text}" is not a tier: use one of ${TIER_NAMES.join(', ')} (for example foreground=hot)`);
}

const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `30m`, `2h`, `7d` in seconds; EINVAL naming the text. */
export function parseSeconds(text: string, what: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text);
  const n = m ? Number(m[1]) * UNIT_SECONDS[m[2]!]! : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_DEMOTE_SECONDS) {
    throw new DfsError('EINVAL', `${what} "${text}" is not a duration of 1 s to 10 years (for example 30s, 12h or 7d)`);
  }
  return n;
}

/**
 * `foreground=hot,background=cold,demoteAfter=7d` (any of the three, each at most once),
 * or a bare tier name for `foreground=TIER`. What it leaves out, the pool's settings say.
 */
export function parseTierPolicy(text: string): TierPolicy {
  const t = text.trim();
  if (!t.includes('=')) return { foreground: tierName(t, 'tier policy') };
  const out: TierPolicy = {};
  for (const part of t.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    const known = key === 'foreground' || key === 'background' || key === 'demoteAfter' || key === 'promote';
    if (eq < 0 || !known) {
      throw new DfsError('EINVAL', `tier policy "${t}": "${part.trim()}" is not foreground=TIER, background=TIER|none, demoteAfter=DURATION or promote=on|off `
        + '(for example foreground=hot,background=cold,demoteAfter=7d,promote=on)');
    }
    const field = key === 'demoteAfter' ? 'demoteAfterSeconds' : key;
    if (out[field as keyof TierPolicy] !== undefined) throw new DfsError('EINVAL', `tier policy "${t}" names ${key} twice`);
    if (key === 'foreground') out.foreground = tierName(value, key);
    else if (key === 'background') out.background = value === 'none' ? null : tierName(value, key);
    else if (key === 'promote') {
      if (value !== 'on' && value !== 'off') throw new DfsError('EINVAL', `tier policy "${t}": promote is on or off, not "${value}"`);
      out.promote = value === 'on';
    } else out.demoteAfterSeconds = parseSeconds(value, key);
  }
  return out;
}

/** The stored (canonical) text of a policy: its keys in a fixed order, durations in seconds. */
export function formatTierPolicy(p: TierPolicy): string {
  return [p.foreground !== undefined ? `foreground=${p.foreground}` : '',
    p.background !== undefined ? `background=${p.background ?? 'none'}` : '',
    p.demoteAfterSeconds !== undefined ? `demoteAfter=${p.demoteAfterSeconds}s` : '',
    p.promote !== undefined ? `promote=${p.promote ? 'on' : 'off'}` : ''].filter(Boolean).join(',');
}
/**
 * The tiers an extent wanting `wanted` may go to, in order: `wanted`, the colder ones
 * (nearest first), then the hotter ones (nearest first). hot: hot, warm, cold; warm:
 * warm, cold, hot; cold: cold, warm, hot.
 */
export function tierOrder(wanted: Tier): Tier[] {
  const i = TIER_NAMES.indexOf(wanted);
  return [wanted, ...TIER_NAMES.slice(i + 1), ...TIER_NAMES.slice(0, i).reverse()];
}

/** The inode's own tier policy (empty without one): what it leaves out, the pool's settings say. */
export function tierPolicyOf(store: { getXattr(ino: number, name: string): Buffer | undefined }, ino: number): TierPolicy {
  const v = store.getXattr(ino, TIER_XATTR);
  if (!v) return {};
  try {
    return parseTierPolicy(v.toString('utf8'));
  } catch {
    return {}; // only checked values are stored; one this version cannot read is no policy
  }
}

/** The foreground tier the inode's policy names, if it has one. */
export function tierOf(store: { getXattr(ino: number, name: string): Buffer | undefined }, ino: number): Tier | undefined {
  return tierPolicyOf(store, ino).foreground;
}

export interface TierPreset {
  name: string;
  summary: string;
  policy: Required<Pick<TierPolicy, 'foreground' | 'background' | 'promote'>> & Pick<TierPolicy, 'demoteAfterSeconds'>;
}

/** `tier-policy`'s presets: what each sets, on a directory or as the pool's settings. */
export const TIER_PRESETS: readonly TierPreset[] = [
  { name: 'performance', summary: 'everything on the hot tier: written there, never moved down, read often after a fallback: moved back',
    policy: { foreground: 'hot', background: null, promote: true } },
  { name: 'balanced', summary: 'written hot, moved to warm after a week without a read, moved back when read often',
    policy: { foreground: 'hot', background: 'warm', demoteAfterSeconds: 7 * 86_400, promote: true } },
  { name: 'aggressive', summary: 'cost first: written hot, moved to cold after a day without a read, left there',
    policy: { foreground: 'hot', background: 'cold', demoteAfterSeconds: 86_400, promote: false } },
];

export function tierPresetOf(name: string): TierPreset {
  const p = TIER_PRESETS.find((x) => x.name === name);
  if (!p) throw new DfsError('EINVAL', `tier-policy: unknown preset ${JSON.stringify(name)}; the presets are ${TIER_PRESETS.map((x) => x.name).join(', ')}`);
  return p;
}
