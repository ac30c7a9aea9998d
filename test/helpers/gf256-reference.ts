/**
 * A deliberately naive, independent Reed-Solomon over GF(2^8) (poly 0x11D, Cauchy
 * parity rows C[i][j] = 1 / ((k+i) XOR j)), used only to check the addon's bytes
 * against the format's definition. Slow by design: bit-by-bit multiplication.
 */

export function gfMul(a: number, b: number): number {
  let p = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) p ^= a;
    const hi = a & 0x80;
    a = (a << 1) & 0xff;
    if (hi) a ^= 0x1d;
    b >>= 1;
  }
  return p;
}

export function gfInv(a: number): number {
  if (a === 0) throw new Error('gfInv(0)');
  for (let x = 1; x < 256; x++) if (gfMul(a, x) === 1) return x;
  throw new Error('unreachable');
}

export function cauchyRow(k: number, i: number): number[] {
  return Array.from({ length: k }, (_, j) => gfInv((k + i) ^ j));
}

/** Parity shards for the given data shards. */
export function referenceEncode(k: number, m: number, data: Uint8Array[]): Uint8Array[] {
  const len = data[0]?.length ?? 0;
  const out: Uint8Array[] = [];
  for (let i = 0; i < m; i++) {
    const row = cauchyRow(k, i);
    const p = new Uint8Array(len);
    for (let j = 0; j < k; j++) {
      const c = row[j]!;
      const d = data[j]!;
      for (let b = 0; b < len; b++) p[b]! ^= gfMul(c, d[b]!);
    }
    out.push(p);
  }
  return out;
}
