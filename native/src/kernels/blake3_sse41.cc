// blake3_sse41.cc — SSE4.1 BLAKE3 kernels (this file alone is built with -msse4.1).
//
// Two shapes of parallelism:
//  * compress_*_sse41: one block, the 4x4 state held as 4 row vectors. A round is
//    the column step, a lane rotation of rows b/c/d so diagonals line up as
//    columns, the diagonal step, and the inverse rotation. The message words are
//    kept as the 4 vectors each step consumes and permuted in registers between
//    rounds (9 shuffles instead of 16 scalar inserts per round).
//  * hash_many_sse41: 4 independent inputs, one per 32-bit lane. Each state word is
//    a vector holding that word of all 4 inputs, so the scalar algorithm runs
//    unchanged on vectors; only the message load (4x4 transpose) and the final CV
//    store (transpose back) know about lanes.
// Rotations by 16 and 8 are byte shuffles (PSHUFB); by 12 and 7, shift pairs.
#include "blake3_internal.h"

#if defined(DFS_B3_X86)
#if !defined(__SSE4_1__)
#error "blake3_sse41.cc must be compiled with -msse4.1 (see binding.gyp)"
#endif
#include <immintrin.h>

namespace dfs::blake3::internal {
namespace {

DFS_B3_INLINE __m128i xr(__m128i a, __m128i b) { return _mm_xor_si128(a, b); }

// Byte-shuffle masks: rotate each 32-bit word right by 16 / by 8.
alignas(16) const uint8_t kRot16Mask[16] = {2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13};
alignas(16) const uint8_t kRot8Mask[16] = {1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12};

// Half a quarter-round on 4 lanes at once:
//   a += m + b;  d = (d ^ a) >>> 16 (or 8);  c += d;  b = (b ^ c) >>> 12 (or 7)
// Written as inline asm because the compiler gets two things wrong here that
// cost ~25% (measured): it reassociates a + m + b so that the add of m lands
// after b on the dependency chain, and, with the 16 state vectors of the 4-way
// kernel in 16 registers, it spills state words in the middle of this chain.
// Here the order is fixed, the masks and (for the 4-way kernel) the message words
// are memory operands, and spills can only happen between steps.
template <int kShiftRight>
DFS_B3_INLINE void mix(__m128i& a, __m128i& b, __m128i& c, __m128i& d, const __m128i& m,
                       const uint8_t (&rot_mask)[16]) {
  __m128i t;
  asm("paddd %[m], %[a]\n\t"
      "paddd %[b], %[a]\n\t"
      "pxor %[a], %[d]\n\t"
      "pshufb %[rot], %[d]\n\t"
      "paddd %[d], %[c]\n\t"
      "pxor %[c], %[b]\n\t"
      "movdqa %[b], %[t]\n\t"
      "psrld %[sr], %[t]\n\t"
      "pslld %[sl], %[b]\n\t"
      "por %[t], %[b]"
      : [a] "+x"(a), [b] "+x"(b), [c] "+x"(c), [d] "+x"(d), [t] "=&x"(t)
      : [m] "xm"(m), [rot] "m"(rot_mask), [sr] "i"(kShiftRight), [sl] "i"(32 - kShiftRight));
}
// A full quarter-round: first mix with mx (16, 12), second with my (8, 7).
DFS_B3_INLINE void g(__m128i& a, __m128i& b, __m128i& c, __m128i& d, const __m128i& mx,
                     const __m128i& my) {
  mix<12>(a, b, c, d, mx, kRot16Mask);
  mix<7>(a, b, c, d, my, kRot8Mask);
}

template <int kImm>
DFS_B3_INLINE __m128i shuf2(__m128i a, __m128i b) {
  return _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b), kImm));
}

// ---- single block, row layout ----------------------------------------------------

// Leaves the final 4 rows in r0..r3 (v0-3, v4-7, v8-11, v12-15).
DFS_B3_INLINE void compress_rows(const uint32_t cv[8], const uint8_t block[kBlockLen],
                                 uint8_t block_len, uint64_t counter, uint8_t flags,
                                 __m128i& r0, __m128i& r1, __m128i& r2, __m128i& r3) {
  r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv));
  r1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv + 4));
  r2 = _mm_setr_epi32(int(kIv[0]), int(kIv[1]), int(kIv[2]), int(kIv[3]));
  r3 = _mm_setr_epi32(int(uint32_t(counter)), int(uint32_t(counter >> 32)), int(block_len),
                      int(flags));
  // x86 is little-endian, so the block's words load directly.
  const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block));
  const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16));
  const __m128i b2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 32));
  const __m128i b3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 48));
  // Message as consumed: m0 = words (0,2,4,6) and m1 = (1,3,5,7) for the columns,
  // m2 = (8,10,12,14) and m3 = (9,11,13,15) for the diagonals.
  __m128i m0 = shuf2<_MM_SHUFFLE(2, 0, 2, 0)>(b0, b1);
  __m128i m1 = shuf2<_MM_SHUFFLE(3, 1, 3, 1)>(b0, b1);
  __m128i m2 = shuf2<_MM_SHUFFLE(2, 0, 2, 0)>(b2, b3);
  __m128i m3 = shuf2<_MM_SHUFFLE(3, 1, 3, 1)>(b2, b3);
  for (size_t r = 0;; ++r) {
    g(r0, r1, r2, r3, m0, m1);
    // Rotate rows so diagonal j sits in lane j: b by 1, c by 2, d by 3.
    r1 = _mm_shuffle_epi32(r1, _MM_SHUFFLE(0, 3, 2, 1));
    r2 = _mm_shuffle_epi32(r2, _MM_SHUFFLE(1, 0, 3, 2));
    r3 = _mm_shuffle_epi32(r3, _MM_SHUFFLE(2, 1, 0, 3));
    g(r0, r1, r2, r3, m2, m3);
    r1 = _mm_shuffle_epi32(r1, _MM_SHUFFLE(2, 1, 0, 3));
    r2 = _mm_shuffle_epi32(r2, _MM_SHUFFLE(1, 0, 3, 2));
    r3 = _mm_shuffle_epi32(r3, _MM_SHUFFLE(0, 3, 2, 1));
    if (r + 1 == kRounds) break;
    // Apply the message permutation (next[i] = cur[P[i]]) to the 4 vectors. With
    // m0=(w0,w2,w4,w6) m1=(w1,w3,w5,w7) m2=(w8,w10,w12,w14) m3=(w9,w11,w13,w15):
    //   n0 = (w2,w3,w7,w4)   = (m0[1], m1[1], m1[3], m0[2])
    //   n1 = (w6,w10,w0,w13) = (m0[3], m2[1], m0[0], m3[2])
    //   n2 = (w1,w12,w9,w15) = (m1[0], m2[2], m3[0], m3[3])
    //   n3 = (w11,w5,w14,w8) = (m3[1], m1[2], m2[3], m2[0])
    const __m128i n0 =
        _mm_shuffle_epi32(shuf2<_MM_SHUFFLE(3, 1, 2, 1)>(m0, m1), _MM_SHUFFLE(1, 3, 2, 0));
    const __m128i t1 = _mm_blend_epi16(shuf2<_MM_SHUFFLE(1, 1, 0, 3)>(m0, m2), m3, 0x30);
    const __m128i n1 = _mm_shuffle_epi32(t1, _MM_SHUFFLE(2, 1, 3, 0));
    const __m128i n2 = _mm_blend_epi16(shuf2<_MM_SHUFFLE(3, 0, 2, 2)>(m2, m3), m1, 0x03);
    const __m128i n3 = shuf2<_MM_SHUFFLE(0, 3, 2, 0)>(shuf2<_MM_SHUFFLE(2, 2, 1, 1)>(m3, m1), m2);
    m0 = n0;
    m1 = n1;
    m2 = n2;
    m3 = n3;
  }
}

// ---- 4 inputs, one per lane --------------------------------------------------------

DFS_B3_INLINE void round4(__m128i v[16], const __m128i m[16], size_t r) {
  const uint8_t* s = kSchedule.w[r];
  g(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]);
  g(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]);
  g(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]);
  g(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]);
  g(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]);
  g(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);
  g(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]);
  g(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]);
}

// 4x4 transpose of 32-bit words: lane j of x[i] becomes lane i of x[j].
DFS_B3_INLINE void transpose4(__m128i& x0, __m128i& x1, __m128i& x2, __m128i& x3) {
  const __m128i t0 = _mm_unpacklo_epi32(x0, x1);
  const __m128i t1 = _mm_unpacklo_epi32(x2, x3);
  const __m128i t2 = _mm_unpackhi_epi32(x0, x1);
  const __m128i t3 = _mm_unpackhi_epi32(x2, x3);
  x0 = _mm_unpacklo_epi64(t0, t1);
  x1 = _mm_unpackhi_epi64(t0, t1);
  x2 = _mm_unpacklo_epi64(t2, t3);
  x3 = _mm_unpackhi_epi64(t2, t3);
}

// m[w] lane i = word w of block `offset` of input i.
DFS_B3_INLINE void load_msg4(const uint8_t* const* in, size_t offset, __m128i m[16]) {
  for (size_t q = 0; q < 4; ++q) {
    for (size_t i = 0; i < 4; ++i)
      m[4 * q + i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in[i] + offset + 16 * q));
    transpose4(m[4 * q], m[4 * q + 1], m[4 * q + 2], m[4 * q + 3]);
  }
}

// Contract: hash_many for exactly 4 inputs (see HashManyFn).
void hash4(const uint8_t* const* in, size_t blocks, const uint32_t key[8], uint64_t counter,
           bool increment_counter, uint8_t flags, uint8_t flags_start, uint8_t flags_end,
           uint8_t* out) {
  __m128i h[8];
  for (size_t i = 0; i < 8; ++i) h[i] = _mm_set1_epi32(int(key[i]));
  uint32_t lo[4], hi[4];
  for (size_t i = 0; i < 4; ++i) {
    const uint64_t c = counter + (increment_counter ? i : 0);
    lo[i] = uint32_t(c);
    hi[i] = uint32_t(c >> 32);
  }
  const __m128i ctr_lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(lo));
  const __m128i ctr_hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hi));
  uint8_t block_flags = flags | flags_start;
  for (size_t b = 0; b < blocks; ++b) {
    if (b + 1 == blocks) block_flags |= flags_end;
    __m128i m[16];
    load_msg4(in, b * kBlockLen, m);
    __m128i v[16] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
                     _mm_set1_epi32(int(kIv[0])), _mm_set1_epi32(int(kIv[1])),
                     _mm_set1_epi32(int(kIv[2])), _mm_set1_epi32(int(kIv[3])),
                     ctr_lo, ctr_hi, _mm_set1_epi32(int(kBlockLen)),
                     _mm_set1_epi32(int(block_flags))};
    round4(v, m, 0);
    round4(v, m, 1);
    round4(v, m, 2);
    round4(v, m, 3);
    round4(v, m, 4);
    round4(v, m, 5);
    round4(v, m, 6);
    for (size_t i = 0; i < 8; ++i) h[i] = xr(v[i], v[i + 8]);
    block_flags = flags;
  }
  // h[w] lane i is word w of input i's CV: transpose back to one row per input.
  transpose4(h[0], h[1], h[2], h[3]);
  transpose4(h[4], h[5], h[6], h[7]);
  for (size_t i = 0; i < 4; ++i) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + kOutLen * i), h[i]);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + kOutLen * i + 16), h[4 + i]);
  }
}

}  // namespace

void compress_in_place_sse41(uint32_t cv[8], const uint8_t block[kBlockLen],
                             uint8_t block_len, uint64_t counter, uint8_t flags) {
  __m128i r0, r1, r2, r3;
  compress_rows(cv, block, block_len, counter, flags, r0, r1, r2, r3);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(cv), xr(r0, r2));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(cv + 4), xr(r1, r3));
}

void compress_xof_sse41(const uint32_t cv[8], const uint8_t block[kBlockLen],
                        uint8_t block_len, uint64_t counter, uint8_t flags,
                        uint8_t out[kBlockLen]) {
  __m128i r0, r1, r2, r3;
  compress_rows(cv, block, block_len, counter, flags, r0, r1, r2, r3);
  const __m128i c0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv));
  const __m128i c1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv + 4));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), xr(r0, r2));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), xr(r1, r3));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32), xr(r2, c0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 48), xr(r3, c1));
}

void hash_many_sse41(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
                     const uint32_t key[8], uint64_t counter, bool increment_counter,
                     uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  while (num_inputs >= 4) {
    hash4(inputs, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    inputs += 4;
    num_inputs -= 4;
    if (increment_counter) counter += 4;
    out += 4 * kOutLen;
  }
  for (; num_inputs > 0; --num_inputs, ++inputs, out += kOutLen) {
    hash_one<compress_in_place_sse41>(*inputs, blocks, key, counter, flags, flags_start,
                                      flags_end, out);
    if (increment_counter) ++counter;
  }
}

}  // namespace dfs::blake3::internal

#endif  // DFS_B3_X86
