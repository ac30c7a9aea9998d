// rs_scalar.cc — portable GF(2^8) multiply-accumulate (the reference kernel).
//
// Used when the CPU has no SSSE3 or DYNAMICFS_RS_ISA=scalar, and by the SIMD kernels
// for tails shorter than one vector. Correctness over speed, but not gratuitously
// slow: the length is processed in L1-sized blocks, each (coefficient, block) pair
// uses a 256-entry product row (one lookup per byte instead of two), and the
// coefficients 0 and 1 — frequent in decode rows — become memset/XOR loops the
// compiler vectorises with baseline SSE2.
#include <cstring>

#include "rs_kernels.h"

namespace dfs::rs::kernels {
namespace {

constexpr size_t kBlock = 4096;      // out block stays in L1 while every source is applied
constexpr size_t kRowMinLen = 128;   // below this, building a 256-byte row is not worth it

// Build row[x] = c * x for all x from the two nibble tables.
void BuildRow(uint8_t c, uint8_t row[256]) {
  const uint8_t* t = gf_nibble_tables.t[c];
  for (int h = 0; h < 16; ++h) {
    for (int l = 0; l < 16; ++l) row[h * 16 + l] = static_cast<uint8_t>(t[l] ^ t[16 + h]);
  }
}

// d[i] (=|^=) c * s[i] for i < n. `assign` overwrites instead of accumulating.
void MulInto(uint8_t c, const uint8_t* s, uint8_t* d, size_t n, bool assign) {
  if (c == 0) {
    if (assign) std::memset(d, 0, n);
    return;
  }
  if (c == 1) {
    if (assign) {
      std::memcpy(d, s, n);
    } else {
      for (size_t i = 0; i < n; ++i) d[i] ^= s[i];
    }
    return;
  }
  if (n < kRowMinLen) {
    const uint8_t* t = gf_nibble_tables.t[c];
    for (size_t i = 0; i < n; ++i) {
      const uint8_t p = static_cast<uint8_t>(t[s[i] & 15] ^ t[16 + (s[i] >> 4)]);
      d[i] = assign ? p : static_cast<uint8_t>(d[i] ^ p);
    }
    return;
  }
  uint8_t row[256];
  BuildRow(c, row);
  if (assign) {
    for (size_t i = 0; i < n; ++i) d[i] = row[s[i]];
  } else {
    for (size_t i = 0; i < n; ++i) d[i] ^= row[s[i]];
  }
}

}  // namespace

void dot_product_scalar_range(const uint8_t* coeffs, int nsrc, int s_begin, int ns, int nout,
                              const uint8_t* const* src, uint8_t* const* out, size_t off,
                              size_t len, bool accumulate) {
  for (size_t b = 0; b < len; b += kBlock) {
    const size_t n = len - b < kBlock ? len - b : kBlock;
    for (int o = 0; o < nout; ++o) {
      uint8_t* d = out[o] + off + b;
      const uint8_t* row = coeffs + static_cast<size_t>(o) * nsrc;
      for (int s = s_begin; s < s_begin + ns; ++s) {
        MulInto(row[s], src[s] + off + b, d, n, !accumulate && s == s_begin);
      }
    }
  }
}

void dot_product_scalar(const uint8_t* coeffs, int nsrc, int nout, const uint8_t* const* src,
                        uint8_t* const* out, size_t len) {
  dot_product_scalar_range(coeffs, nsrc, 0, nsrc, nout, src, out, 0, len, false);
}

}  // namespace dfs::rs::kernels
