// rs_ssse3.cc — SSSE3 GF(2^8) multiply-accumulate (compiled with -mssse3 only).
//
// Split-nibble method: for a coefficient c, c*b = T_lo[b & 15] ^ T_hi[b >> 4], and
// PSHUFB does 16 such 16-entry lookups at once. Same structure as rs_avx2.cc with
// 16-byte vectors; kept as a separate file because it must be compiled with only
// -mssse3 (the fallback for CPUs without AVX2).
//
// Loop structure (the ISA-L gf_Nvect_dot_prod idea): one pass walks the length in
// 32..64-byte steps; for each step it walks all sources, loading each source vector ONCE
// and folding it into up to kMaxOutPerPass output accumulators that live in
// registers; outputs are stored once per step. So each source byte is read from
// memory once per pass and each output byte written once — no read-modify-write of
// the outputs. More outputs than one pass holds -> several passes over output groups;
// the length is then cut into blocks small enough that the sources stay in L2
// between the passes.
//
// Only <immintrin.h> and our own declarations are included: see rs_kernels.h for why
// no inline/template code may be shared with TUs compiled for other ISAs.
#include <tmmintrin.h>

#include "rs_kernels.h"

namespace dfs::rs::kernels {
namespace {

// One pass for N outputs, U 16-byte vectors per step, over [pos, end) (whole steps
// only; returns where it stopped). tbl: source-major nibble tables, N*32 bytes per
// source. ACC: XOR into the existing out bytes instead of overwriting them (only
// for source chunks after the first).
template <int N, int U, bool ACC>
size_t Pass(const uint8_t* tbl, int ns, const uint8_t* const* src, uint8_t* const* out,
            size_t pos, size_t end) {
  const __m128i mask = _mm_set1_epi8(0x0f);
  for (; pos + 16 * U <= end; pos += 16 * U) {
    __m128i acc[N][U];
    for (int o = 0; o < N; ++o) {
      for (int u = 0; u < U; ++u) {
        const uint8_t* d = out[o] + pos + 16 * u;
        acc[o][u] = ACC ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(d))
                        : _mm_setzero_si128();
      }
    }
    const uint8_t* t = tbl;
    for (int s = 0; s < ns; ++s, t += N * 32) {
      const uint8_t* p = src[s] + pos;
      __m128i lo[U], hi[U];
      for (int u = 0; u < U; ++u) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * u));
        lo[u] = _mm_and_si128(x, mask);
        hi[u] = _mm_and_si128(_mm_srli_epi16(x, 4), mask);
      }
      for (int o = 0; o < N; ++o) {
        const __m128i tl = _mm_load_si128(reinterpret_cast<const __m128i*>(t + 32 * o));
        const __m128i th = _mm_load_si128(reinterpret_cast<const __m128i*>(t + 32 * o + 16));
        for (int u = 0; u < U; ++u) {
          acc[o][u] = _mm_xor_si128(
              acc[o][u],
              _mm_xor_si128(_mm_shuffle_epi8(tl, lo[u]), _mm_shuffle_epi8(th, hi[u])));
        }
      }
    }
    for (int o = 0; o < N; ++o) {
      for (int u = 0; u < U; ++u) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out[o] + pos + 16 * u), acc[o][u]);
      }
    }
  }
  return pos;
}

using PassFn = size_t (*)(const uint8_t*, int, const uint8_t* const*, uint8_t* const*, size_t,
                          size_t);

// Indexed [acc][N-1]: the main pass (U vectors per step) and the one-vector pass for
// tails. U per N was measured on Zen 3 (EPYC 7xx3): more bytes per step amortise the
// table loads and the loop overhead, until accumulators + index vectors no longer fit
// in the 16 vector registers. N=1 -> U=4 (+8% AVX2, +24% SSSE3 over U=2), N=2 -> U=3;
// N>=4 spill one or more accumulators at U=2 but still beat U=1 by ~25%.
constexpr PassFn kWide[2][kMaxOutPerPass] = {
    {Pass<1, 4, false>, Pass<2, 3, false>, Pass<3, 2, false>, Pass<4, 2, false>,
     Pass<5, 2, false>, Pass<6, 2, false>},
    {Pass<1, 4, true>, Pass<2, 3, true>, Pass<3, 2, true>, Pass<4, 2, true>, Pass<5, 2, true>,
     Pass<6, 2, true>}};
constexpr PassFn kNarrow[2][kMaxOutPerPass] = {
    {Pass<1, 1, false>, Pass<2, 1, false>, Pass<3, 1, false>, Pass<4, 1, false>,
     Pass<5, 1, false>, Pass<6, 1, false>},
    {Pass<1, 1, true>, Pass<2, 1, true>, Pass<3, 1, true>, Pass<4, 1, true>, Pass<5, 1, true>,
     Pass<6, 1, true>}};

}  // namespace

void dot_product_ssse3(const uint8_t* coeffs, int nsrc, int nout, const uint8_t* const* src,
                       uint8_t* const* out, size_t len) {
  if (len < 16) {  // shorter than one vector: nothing to gain from SIMD
    dot_product_scalar_range(coeffs, nsrc, 0, nsrc, nout, src, out, 0, len, false);
    return;
  }
  // Alignment: a 16-byte access that straddles a cache line costs two (odd offsets
  // are common: Buffer views, subarrays). So when src[0] is misaligned, a head of
  // `start` bytes is handled apart and the main loop runs from the first 16-aligned
  // byte of src[0]; buffers sharing src[0]'s misalignment (the usual case) are then
  // all accessed aligned.
  size_t start = (16 - (reinterpret_cast<uintptr_t>(src[0]) & 15)) & 15;
  if (len < start + 32) start = 0;  // too short to be worth it
  alignas(64) uint8_t tbl[kMaxSrcPerChunk * kMaxOutPerPass * 32];  // 24 KiB
  // Balanced output groups: 8 outputs -> 4+4 rather than 6+2.
  const int ngroups = (nout + kMaxOutPerPass - 1) / kMaxOutPerPass;
  for (int s0 = 0; s0 < nsrc; s0 += kMaxSrcPerChunk) {
    const int ns = nsrc - s0 < kMaxSrcPerChunk ? nsrc - s0 : kMaxSrcPerChunk;
    const bool acc = s0 > 0;
    // With several passes, cut the length so ns blocks (~256 KiB) stay in L2 for the
    // next pass; with one pass there is nothing to reuse.
    size_t block = len;
    if (ngroups > 1) {
      block = (static_cast<size_t>(256 * 1024) / static_cast<size_t>(ns)) & ~size_t{63};
      if (block < 1024) block = 1024;
    }
    for (size_t b = start; b < len; b += block) {
      const size_t end = len - b < block ? len : b + block;
      for (int g = 0, o0 = 0; g < ngroups; ++g) {
        const int no = (nout - o0) / (ngroups - g);
        if (ngroups > 1 || b == start) expand_nibble_tables(coeffs, nsrc, o0, no, s0, ns, tbl);
        const uint8_t* const* gs = src + s0;
        uint8_t* const* go = out + o0;
        const uint8_t* gc = coeffs + static_cast<size_t>(o0) * nsrc;
        // Head [0, start) and tail [pos, end) shorter than one vector. Overwriting
        // passes redo one whole unaligned vector over them: the overlap recomputes
        // bytes that are (or will be) written with identical values, since sources
        // are never written, and is far cheaper than scalar. Accumulating passes
        // cannot XOR twice, so they take the scalar route.
        if (b == start && start > 0) {
          if (!acc) {
            kNarrow[0][no - 1](tbl, ns, gs, go, 0, 16);
          } else {
            dot_product_scalar_range(gc, nsrc, s0, ns, no, src, go, 0, start, true);
          }
        }
        size_t pos = kWide[acc][no - 1](tbl, ns, gs, go, b, end);
        pos = kNarrow[acc][no - 1](tbl, ns, gs, go, pos, end);
        if (pos < end) {
          if (!acc) {
            kNarrow[0][no - 1](tbl, ns, gs, go, end - 16, end);  // len >= 16
          } else {
            dot_product_scalar_range(gc, nsrc, s0, ns, no, src, go, pos, end - pos, true);
          }
        }
        o0 += no;
      }
    }
  }
}

}  // namespace dfs::rs::kernels
