/** Redundancy policies: "rs:K+M" (Reed-Solomon) or "mirror:N" (N full replicas). */
import { DfsError } from '../errors';
import type { Tier } from '../meta/records';

export interface Policy {
  scheme: 'rs' | 'mirror';
  /** Fragments needed to read (1 for a mirror). */
  k: number;
  /** Fragments that may be lost (N-1 for a mirror). */
  m: number;
  /**
   * For writes: the tier the extents want (the file's user.dynamicfs.tier); absent, the
   * pool's tier.foreground. Not part of the redundancy: formatPolicy leaves it out.
   */
  tier?: Tier;
}

export function parsePolicy(text: string): Policy {
  const rs = /^rs:(\d+)\+(\d+)$/.exec(text);
  if (rs) {
    const k = Number(rs[1]), m = Number(rs[2]);
    if (k < 1 || m < 1 || k + m > 32 || m > 8) {
      throw new DfsError('EINVAL', `redundancy ${text}: need 1 <= K, 1 <= M <= 8 and K+M <= 32 (for example rs:4+2)`);
    }
    return { scheme: 'rs', k, m };
  }
  const mirror = /^mirror:(\d+)$/.exec(text);
  if (mirror) {
    const n = Number(mirror[1]);
    if (n < 2 || n > 8) throw new DfsError('EINVAL', `redundancy ${text}: a mirror needs 2 to 8 copies (for example mirror:3)`);
    return { scheme: 'mirror', k: 1, m: n - 1 };
  }
  throw new DfsError('EINVAL', `redundancy "${text}" is not rs:K+M or mirror:N (for example rs:4+2 or mirror:3)`);
}

export function formatPolicy(p: Policy): string {
  return p.scheme === 'rs' ? `rs:${p.k}+${p.m}` : `mirror:${p.k + p.m}`;
}

/** Disks a policy spreads one extent over (each fragment on a distinct disk). */
export function width(p: Policy): number {
  return p.k + p.m;
}
