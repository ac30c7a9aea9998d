// blake3_avx2.cc — AVX2 BLAKE3 hash_many (this file alone is built with -mavx2).
//
// Inputs are hashed side by side, one per 32-bit lane: each of the 16 state words
// is a vector holding that word for every input, so the rounds are the scalar
// algorithm on vectors with no diagonalization; the transposes at the message
// load and at the CV store are the only lane-aware code. Groups of 8 run in
// __m256i; a group of 4 left over runs the same code in VEX-encoded __m128i (3-
// operand forms, no register copies, unlike the SSE4.1 file), so a 4-chunk input
// still goes 4-wide; the last 1-3 inputs go to hash_many_sse41 (every AVX2 CPU
// has SSE4.1; dispatch checks both anyway).
#include "blake3_internal.h"

#if defined(DFS_B3_X86)
#if !defined(__AVX2__)
#error "blake3_avx2.cc must be compiled with -mavx2 (see binding.gyp)"
#endif
#include <immintrin.h>

#include <cstring>

namespace dfs::blake3::internal {
namespace {

// Byte-shuffle masks for rotations by 16 and 8 (pattern repeated per 128-bit half).
alignas(32) const uint8_t kRot16Mask[32] = {2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
                                            2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13};
alignas(32) const uint8_t kRot8Mask[32] = {1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12,
                                           1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12};

// One quarter-round on vectors of lanes; V is __m256i or __m128i (the operand's
// type makes the assembler print %ymm or %xmm, so one text serves both widths).
//
// Why inline asm: the state is 16 vectors and x86 has 16 vector registers. With
// intrinsics, GCC keeps the two shuffle masks in registers and then spills state
// words mid-quarter-round and reloads them a few instructions later, which puts
// store-to-load forwarding latency on the critical dependency chain (measured:
// the 8-way kernel ran at ~3.3 GB/s that way, ~4.2 GB/s like this). Here the four
// words of one quarter-round and one temporary are in registers for the whole
// step, the masks and message words are memory operands, and any spilling GCC
// needs happens between quarter-rounds, off the chain.
template <class V>
DFS_B3_INLINE void g(V& a, V& b, V& c, V& d, const V& mx, const V& my) {
  V t;
  asm("vpaddd %[mx], %[a], %[a]\n\t"
      "vpaddd %[b], %[a], %[a]\n\t"
      "vpxor %[a], %[d], %[d]\n\t"
      "vpshufb %[r16], %[d], %[d]\n\t"  // d = (d ^ a) >>> 16
      "vpaddd %[d], %[c], %[c]\n\t"
      "vpxor %[c], %[b], %[b]\n\t"
      "vpsrld $12, %[b], %[t]\n\t"
      "vpslld $20, %[b], %[b]\n\t"
      "vpor %[t], %[b], %[b]\n\t"  // b = (b ^ c) >>> 12
      "vpaddd %[my], %[a], %[a]\n\t"
      "vpaddd %[b], %[a], %[a]\n\t"
      "vpxor %[a], %[d], %[d]\n\t"
      "vpshufb %[r8], %[d], %[d]\n\t"  // d = (d ^ a) >>> 8
      "vpaddd %[d], %[c], %[c]\n\t"
      "vpxor %[c], %[b], %[b]\n\t"
      "vpsrld $7, %[b], %[t]\n\t"
      "vpslld $25, %[b], %[b]\n\t"
      "vpor %[t], %[b], %[b]"  // b = (b ^ c) >>> 7
      : [a] "+x"(a), [b] "+x"(b), [c] "+x"(c), [d] "+x"(d), [t] "=&x"(t)
      : [mx] "m"(mx), [my] "m"(my), [r16] "m"(kRot16Mask), [r8] "m"(kRot8Mask));
}

template <class V>
DFS_B3_INLINE void round_fn(V v[16], const V m[16], size_t r) {
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

// Width-specific pieces: broadcast, xor, and the transposes. transpose: lane j of
// x[i] becomes lane i of x[j], over the first kLanes vectors.
struct Wide {
  using V = __m256i;
  static constexpr size_t kLanes = 8;
  static V set1(uint32_t w) { return _mm256_set1_epi32(int(w)); }
  static V load(const void* p) { return _mm256_loadu_si256(static_cast<const V*>(p)); }
  static void store(void* p, V x) { _mm256_storeu_si256(static_cast<V*>(p), x); }
  static V xr(V a, V b) { return _mm256_xor_si256(a, b); }
  static void transpose(V x[8]) {
    // Interleave words pairwise, then 64-bit pairs, inside each 128-bit half...
    const V t0 = _mm256_unpacklo_epi32(x[0], x[1]), t1 = _mm256_unpackhi_epi32(x[0], x[1]);
    const V t2 = _mm256_unpacklo_epi32(x[2], x[3]), t3 = _mm256_unpackhi_epi32(x[2], x[3]);
    const V t4 = _mm256_unpacklo_epi32(x[4], x[5]), t5 = _mm256_unpackhi_epi32(x[4], x[5]);
    const V t6 = _mm256_unpacklo_epi32(x[6], x[7]), t7 = _mm256_unpackhi_epi32(x[6], x[7]);
    // u0 = words 0|4 of inputs 0-3, u1 = 1|5, u2 = 2|6, u3 = 3|7; u4-u7 for inputs 4-7.
    const V u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    const V u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    const V u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    const V u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    // ...then trade 128-bit halves between vectors 4 apart.
    x[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
    x[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    x[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
    x[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    x[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    x[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    x[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    x[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
  }
};

// Contract: hash_many (see HashManyFn) for exactly W::kLanes inputs.
template <class W>
void hash_lanes(const uint8_t* const* in, size_t blocks, const uint32_t key[8],
                uint64_t counter, bool increment_counter, uint8_t flags, uint8_t flags_start,
                uint8_t flags_end, uint8_t* out) {
  using V = typename W::V;
  constexpr size_t kLanes = W::kLanes;
  // Words per vector load from one input: a block is 64 / (4 * kLanes) loads.
  constexpr size_t kLoads = 16 / kLanes;
  V h[8];
  for (size_t i = 0; i < 8; ++i) h[i] = W::set1(key[i]);
  alignas(32) uint32_t lo[kLanes], hi[kLanes];
  for (size_t i = 0; i < kLanes; ++i) {
    const uint64_t c = counter + (increment_counter ? i : 0);
    lo[i] = uint32_t(c);
    hi[i] = uint32_t(c >> 32);
  }
  const V ctr_lo = W::load(lo), ctr_hi = W::load(hi);
  uint8_t block_flags = flags | flags_start;
  for (size_t b = 0; b < blocks; ++b) {
    if (b + 1 == blocks) block_flags |= flags_end;
    // m[w] lane i = word w of this block of input i.
    V m[16];
    for (size_t q = 0; q < kLoads; ++q) {
      V* x = m + kLanes * q;
      for (size_t i = 0; i < kLanes; ++i)
        x[i] = W::load(in[i] + b * kBlockLen + q * kLanes * 4);
      W::transpose(x);
    }
    V v[16] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
               W::set1(kIv[0]), W::set1(kIv[1]), W::set1(kIv[2]), W::set1(kIv[3]),
               ctr_lo, ctr_hi, W::set1(kBlockLen), W::set1(block_flags)};
    round_fn(v, m, 0);
    round_fn(v, m, 1);
    round_fn(v, m, 2);
    round_fn(v, m, 3);
    round_fn(v, m, 4);
    round_fn(v, m, 5);
    round_fn(v, m, 6);
    for (size_t i = 0; i < 8; ++i) h[i] = W::xr(v[i], v[i + 8]);
    block_flags = flags;
  }
  // h[w] lane i is word w of input i's CV: transpose back to one row per input.
  constexpr size_t kCvGroups = 8 / kLanes;
  for (size_t q = 0; q < kCvGroups; ++q) W::transpose(h + kLanes * q);
  for (size_t i = 0; i < kLanes; ++i)
    for (size_t q = 0; q < kCvGroups; ++q)
      W::store(out + kOutLen * i + q * kLanes * 4, h[kLanes * q + i]);
}

// ---- 2 to 4 inputs: two quarter-rounds per ymm ---------------------------------
//
// With only 4 inputs, 4 lanes of xmm leave half of each ymm op unused and the
// kernel runs no faster per block than the 8-way one. Instead each ymm holds two
// state words side by side (low half: word x of the 4 inputs, high half: word y),
// so one ymm quarter-round does two of the four column (or diagonal) quarter-
// rounds: 8 ymm registers hold the whole state, half the ALU ops, no spills.
// Columns pair (G0,G1) and (G2,G3):
//   a01=(v0|v1) b01=(v4|v5) c01=(v8|v9)   d01=(v12|v13)
//   a23=(v2|v3) b23=(v6|v7) c23=(v10|v11) d23=(v14|v15)
// Diagonals pair (G4,G5) and (G6,G7); a and c are already placed, b and d need
// their 128-bit halves re-paired (4 lane-crossing permutes each way):
//   G4,G5: a01, b45=(v5|v6), c23, d45=(v15|v12)
//   G6,G7: a23, b67=(v7|v4), c01, d67=(v13|v14)

// Two independent ymm quarter-rounds, interleaved instruction by instruction
// (8 state + 4 message + 2 temporaries = 14 of the 16 registers).
DFS_B3_INLINE void g_x2(__m256i& a0, __m256i& b0, __m256i& c0, __m256i& d0, __m256i mx0,
                        __m256i my0, __m256i& a1, __m256i& b1, __m256i& c1, __m256i& d1,
                        __m256i mx1, __m256i my1) {
  __m256i t0, t1;
  asm("vpaddd %[mx0], %[a0], %[a0]\n\t"
      "vpaddd %[mx1], %[a1], %[a1]\n\t"
      "vpaddd %[b0], %[a0], %[a0]\n\t"
      "vpaddd %[b1], %[a1], %[a1]\n\t"
      "vpxor %[a0], %[d0], %[d0]\n\t"
      "vpxor %[a1], %[d1], %[d1]\n\t"
      "vpshufb %[r16], %[d0], %[d0]\n\t"
      "vpshufb %[r16], %[d1], %[d1]\n\t"
      "vpaddd %[d0], %[c0], %[c0]\n\t"
      "vpaddd %[d1], %[c1], %[c1]\n\t"
      "vpxor %[c0], %[b0], %[b0]\n\t"
      "vpxor %[c1], %[b1], %[b1]\n\t"
      "vpsrld $12, %[b0], %[t0]\n\t"
      "vpsrld $12, %[b1], %[t1]\n\t"
      "vpslld $20, %[b0], %[b0]\n\t"
      "vpslld $20, %[b1], %[b1]\n\t"
      "vpor %[t0], %[b0], %[b0]\n\t"
      "vpor %[t1], %[b1], %[b1]\n\t"
      "vpaddd %[my0], %[a0], %[a0]\n\t"
      "vpaddd %[my1], %[a1], %[a1]\n\t"
      "vpaddd %[b0], %[a0], %[a0]\n\t"
      "vpaddd %[b1], %[a1], %[a1]\n\t"
      "vpxor %[a0], %[d0], %[d0]\n\t"
      "vpxor %[a1], %[d1], %[d1]\n\t"
      "vpshufb %[r8], %[d0], %[d0]\n\t"
      "vpshufb %[r8], %[d1], %[d1]\n\t"
      "vpaddd %[d0], %[c0], %[c0]\n\t"
      "vpaddd %[d1], %[c1], %[c1]\n\t"
      "vpxor %[c0], %[b0], %[b0]\n\t"
      "vpxor %[c1], %[b1], %[b1]\n\t"
      "vpsrld $7, %[b0], %[t0]\n\t"
      "vpsrld $7, %[b1], %[t1]\n\t"
      "vpslld $25, %[b0], %[b0]\n\t"
      "vpslld $25, %[b1], %[b1]\n\t"
      "vpor %[t0], %[b0], %[b0]\n\t"
      "vpor %[t1], %[b1], %[b1]"
      : [a0] "+x"(a0), [b0] "+x"(b0), [c0] "+x"(c0), [d0] "+x"(d0), [a1] "+x"(a1),
        [b1] "+x"(b1), [c1] "+x"(c1), [d1] "+x"(d1), [t0] "=&x"(t0), [t1] "=&x"(t1)
      : [mx0] "x"(mx0), [my0] "x"(my0), [mx1] "x"(mx1), [my1] "x"(my1),
        [r16] "m"(kRot16Mask), [r8] "m"(kRot8Mask));
}

DFS_B3_INLINE __m256i halves(__m128i lo, __m128i hi) {
  return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}
DFS_B3_INLINE __m256i halves(uint32_t lo, uint32_t hi) {
  return halves(_mm_set1_epi32(int(lo)), _mm_set1_epi32(int(hi)));
}
// Message operand for a ymm quarter-round: words x (low half) and y (high half).
DFS_B3_INLINE __m256i msg(const __m128i m[16], uint8_t x, uint8_t y) { return halves(m[x], m[y]); }

DFS_B3_INLINE void transpose4(__m128i& x0, __m128i& x1, __m128i& x2, __m128i& x3) {
  const __m128i t0 = _mm_unpacklo_epi32(x0, x1), t1 = _mm_unpacklo_epi32(x2, x3);
  const __m128i t2 = _mm_unpackhi_epi32(x0, x1), t3 = _mm_unpackhi_epi32(x2, x3);
  x0 = _mm_unpacklo_epi64(t0, t1);
  x1 = _mm_unpackhi_epi64(t0, t1);
  x2 = _mm_unpacklo_epi64(t2, t3);
  x3 = _mm_unpackhi_epi64(t2, t3);
}

// Contract: hash_many (see HashManyFn) for exactly 4 inputs.
void hash4_paired(const uint8_t* const* in, size_t blocks, const uint32_t key[8],
                  uint64_t counter, bool increment_counter, uint8_t flags, uint8_t flags_start,
                  uint8_t flags_end, uint8_t* out) {
  __m256i h01 = halves(key[0], key[1]), h23 = halves(key[2], key[3]);
  __m256i h45 = halves(key[4], key[5]), h67 = halves(key[6], key[7]);
  uint32_t lo[4], hi[4];
  for (size_t i = 0; i < 4; ++i) {
    const uint64_t c = counter + (increment_counter ? i : 0);
    lo[i] = uint32_t(c);
    hi[i] = uint32_t(c >> 32);
  }
  const __m256i ctr = halves(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lo)),
                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(hi)));
  const __m256i iv01 = halves(kIv[0], kIv[1]), iv23 = halves(kIv[2], kIv[3]);
  uint8_t block_flags = flags | flags_start;
  for (size_t b = 0; b < blocks; ++b) {
    if (b + 1 == blocks) block_flags |= flags_end;
    __m128i m[16];  // m[w] lane i = word w of this block of input i
    for (size_t q = 0; q < 4; ++q) {
      for (size_t i = 0; i < 4; ++i)
        m[4 * q + i] =
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(in[i] + b * kBlockLen + 16 * q));
      transpose4(m[4 * q], m[4 * q + 1], m[4 * q + 2], m[4 * q + 3]);
    }
    __m256i a01 = h01, a23 = h23, b01 = h45, b23 = h67, c01 = iv01, c23 = iv23, d01 = ctr;
    __m256i d23 = halves(uint32_t(kBlockLen), uint32_t(block_flags));
#pragma GCC unroll 7
    for (size_t r = 0; r < kRounds; ++r) {
      const uint8_t* s = kSchedule.w[r];
      g_x2(a01, b01, c01, d01, msg(m, s[0], s[2]), msg(m, s[1], s[3]),  //
           a23, b23, c23, d23, msg(m, s[4], s[6]), msg(m, s[5], s[7]));
      __m256i b45 = _mm256_permute2x128_si256(b01, b23, 0x21);
      __m256i b67 = _mm256_permute2x128_si256(b23, b01, 0x21);
      __m256i d45 = _mm256_permute2x128_si256(d23, d01, 0x21);
      __m256i d67 = _mm256_permute2x128_si256(d01, d23, 0x21);
      g_x2(a01, b45, c23, d45, msg(m, s[8], s[10]), msg(m, s[9], s[11]),  //
           a23, b67, c01, d67, msg(m, s[12], s[14]), msg(m, s[13], s[15]));
      b01 = _mm256_permute2x128_si256(b67, b45, 0x21);
      b23 = _mm256_permute2x128_si256(b45, b67, 0x21);
      d01 = _mm256_permute2x128_si256(d45, d67, 0x21);
      d23 = _mm256_permute2x128_si256(d67, d45, 0x21);
    }
    h01 = _mm256_xor_si256(a01, c01);
    h23 = _mm256_xor_si256(a23, c23);
    h45 = _mm256_xor_si256(b01, d01);
    h67 = _mm256_xor_si256(b23, d23);
    block_flags = flags;
  }
  __m128i w[8] = {_mm256_castsi256_si128(h01), _mm256_extracti128_si256(h01, 1),
                  _mm256_castsi256_si128(h23), _mm256_extracti128_si256(h23, 1),
                  _mm256_castsi256_si128(h45), _mm256_extracti128_si256(h45, 1),
                  _mm256_castsi256_si128(h67), _mm256_extracti128_si256(h67, 1)};
  transpose4(w[0], w[1], w[2], w[3]);
  transpose4(w[4], w[5], w[6], w[7]);
  for (size_t i = 0; i < 4; ++i) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + kOutLen * i), w[i]);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + kOutLen * i + 16), w[4 + i]);
  }
}

}  // namespace

void hash_many_avx2(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
                    const uint32_t key[8], uint64_t counter, bool increment_counter,
                    uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  while (num_inputs >= 8) {
    hash_lanes<Wide>(inputs, blocks, key, counter, increment_counter, flags, flags_start,
                     flags_end, out);
    inputs += 8;
    num_inputs -= 8;
    if (increment_counter) counter += 8;
    out += 8 * kOutLen;
  }
  // 2-7 left: groups of up to 4 through the paired kernel; missing lanes repeat
  // the last input and their CVs are dropped (cheaper than single-lane work).
  while (num_inputs >= 2) {
    const size_t n = num_inputs < 4 ? num_inputs : 4;
    const uint8_t* group[4];
    for (size_t i = 0; i < 4; ++i) group[i] = inputs[i < n ? i : n - 1];
    uint8_t cvs[4 * kOutLen];
    hash4_paired(group, blocks, key, counter, increment_counter, flags, flags_start, flags_end,
                 n == 4 ? out : cvs);
    if (n < 4) std::memcpy(out, cvs, n * kOutLen);
    inputs += n;
    num_inputs -= n;
    if (increment_counter) counter += n;
    out += n * kOutLen;
  }
  if (num_inputs > 0)
    hash_many_sse41(inputs, num_inputs, blocks, key, counter, increment_counter, flags,
                    flags_start, flags_end, out);
}

}  // namespace dfs::blake3::internal

#endif  // DFS_B3_X86
