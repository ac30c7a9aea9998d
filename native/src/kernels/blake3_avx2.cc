// blake3_avx2.cc — AVX2 BLAKE3 hash_many: 8 independent inputs, one per 32-bit lane
// of __m256i (this file alone is built with -mavx2).
//
// Same shape as the SSE4.1 4-way kernel: each of the 16 state words is a vector
// holding that word for all 8 inputs, so the rounds are the scalar algorithm on
// vectors with no diagonalization; the 8x8 transposes at the message load and the
// CV store are the only lane-aware code. Fewer than 8 inputs left over go to the
// SSE4.1 kernel (every AVX2 CPU has SSE4.1; dispatch checks both anyway), so a
// 4-chunk input still runs 4-wide instead of 4 times single-lane.
#include "blake3_internal.h"

#if defined(DFS_B3_X86)
#if !defined(__AVX2__)
#error "blake3_avx2.cc must be compiled with -mavx2 (see binding.gyp)"
#endif
#include <immintrin.h>

namespace dfs::blake3::internal {
namespace {

DFS_B3_INLINE __m256i add(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }
DFS_B3_INLINE __m256i xr(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }
// Byte shuffles work per 128-bit half, so the pattern is repeated for both halves.
DFS_B3_INLINE __m256i rot16(__m256i x) {
  return _mm256_shuffle_epi8(
      x, _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7,
                          4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
}
DFS_B3_INLINE __m256i rot12(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}
DFS_B3_INLINE __m256i rot8(__m256i x) {
  return _mm256_shuffle_epi8(
      x, _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0, 5, 6,
                          7, 4, 9, 10, 11, 8, 13, 14, 15, 12));
}
DFS_B3_INLINE __m256i rot7(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

DFS_B3_INLINE void g8(__m256i v[16], int a, int b, int c, int d, __m256i mx, __m256i my) {
  v[a] = add(add(v[a], v[b]), mx);
  v[d] = rot16(xr(v[d], v[a]));
  v[c] = add(v[c], v[d]);
  v[b] = rot12(xr(v[b], v[c]));
  v[a] = add(add(v[a], v[b]), my);
  v[d] = rot8(xr(v[d], v[a]));
  v[c] = add(v[c], v[d]);
  v[b] = rot7(xr(v[b], v[c]));
}

DFS_B3_INLINE void round8(__m256i v[16], const __m256i m[16], size_t r) {
  const uint8_t* s = kSchedule.w[r];
  g8(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
  g8(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
  g8(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
  g8(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
  g8(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
  g8(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
  g8(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
  g8(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

// 8x8 transpose of 32-bit words: lane j of x[i] becomes lane i of x[j]. Words are
// interleaved pairwise, then 64-bit pairs, inside each 128-bit half; the final
// step swaps 128-bit halves between vectors 4 apart.
DFS_B3_INLINE void transpose8(__m256i x[8]) {
  const __m256i t0 = _mm256_unpacklo_epi32(x[0], x[1]);
  const __m256i t1 = _mm256_unpackhi_epi32(x[0], x[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(x[2], x[3]);
  const __m256i t3 = _mm256_unpackhi_epi32(x[2], x[3]);
  const __m256i t4 = _mm256_unpacklo_epi32(x[4], x[5]);
  const __m256i t5 = _mm256_unpackhi_epi32(x[4], x[5]);
  const __m256i t6 = _mm256_unpacklo_epi32(x[6], x[7]);
  const __m256i t7 = _mm256_unpackhi_epi32(x[6], x[7]);
  // u0 = words 0|4 of inputs 0-3, u1 = 1|5, u2 = 2|6, u3 = 3|7; u4-u7 the same for 4-7.
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2);
  const __m256i u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3);
  const __m256i u3 = _mm256_unpackhi_epi64(t1, t3);
  const __m256i u4 = _mm256_unpacklo_epi64(t4, t6);
  const __m256i u5 = _mm256_unpackhi_epi64(t4, t6);
  const __m256i u6 = _mm256_unpacklo_epi64(t5, t7);
  const __m256i u7 = _mm256_unpackhi_epi64(t5, t7);
  x[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  x[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  x[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  x[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  x[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  x[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  x[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  x[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

// m[w] lane i = word w of block `offset` of input i.
DFS_B3_INLINE void load_msg8(const uint8_t* const* in, size_t offset, __m256i m[16]) {
  for (size_t half = 0; half < 2; ++half) {
    __m256i* x = m + 8 * half;
    for (size_t i = 0; i < 8; ++i)
      x[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[i] + offset + 32 * half));
    transpose8(x);
  }
}

// Contract: hash_many for exactly 8 inputs (see HashManyFn).
void hash8(const uint8_t* const* in, size_t blocks, const uint32_t key[8], uint64_t counter,
           bool increment_counter, uint8_t flags, uint8_t flags_start, uint8_t flags_end,
           uint8_t* out) {
  __m256i h[8];
  for (size_t i = 0; i < 8; ++i) h[i] = _mm256_set1_epi32(int(key[i]));
  alignas(32) uint32_t lo[8], hi[8];
  for (size_t i = 0; i < 8; ++i) {
    const uint64_t c = counter + (increment_counter ? i : 0);
    lo[i] = uint32_t(c);
    hi[i] = uint32_t(c >> 32);
  }
  const __m256i ctr_lo = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo));
  const __m256i ctr_hi = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
  uint8_t block_flags = flags | flags_start;
  for (size_t b = 0; b < blocks; ++b) {
    if (b + 1 == blocks) block_flags |= flags_end;
    __m256i m[16];
    load_msg8(in, b * kBlockLen, m);
    __m256i v[16] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
                     _mm256_set1_epi32(int(kIv[0])), _mm256_set1_epi32(int(kIv[1])),
                     _mm256_set1_epi32(int(kIv[2])), _mm256_set1_epi32(int(kIv[3])),
                     ctr_lo, ctr_hi, _mm256_set1_epi32(int(kBlockLen)),
                     _mm256_set1_epi32(int(block_flags))};
    round8(v, m, 0);
    round8(v, m, 1);
    round8(v, m, 2);
    round8(v, m, 3);
    round8(v, m, 4);
    round8(v, m, 5);
    round8(v, m, 6);
    for (size_t i = 0; i < 8; ++i) h[i] = xr(v[i], v[i + 8]);
    block_flags = flags;
  }
  // h[w] lane i is word w of input i's CV; after the transpose h[i] is input i's CV.
  transpose8(h);
  for (size_t i = 0; i < 8; ++i)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + kOutLen * i), h[i]);
}

}  // namespace

void hash_many_avx2(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
                    const uint32_t key[8], uint64_t counter, bool increment_counter,
                    uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  while (num_inputs >= 8) {
    hash8(inputs, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    inputs += 8;
    num_inputs -= 8;
    if (increment_counter) counter += 8;
    out += 8 * kOutLen;
  }
  if (num_inputs > 0)
    hash_many_sse41(inputs, num_inputs, blocks, key, counter, increment_counter, flags,
                    flags_start, flags_end, out);
}

}  // namespace dfs::blake3::internal

#endif  // DFS_B3_X86
