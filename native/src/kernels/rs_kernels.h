// rs_kernels.h — internal: the per-ISA GF(2^8) multiply-accumulate kernels behind
// dfs::rs::dot_product, and the shared nibble tables they read.
//
// This header is included by translation units compiled with different ISA flags
// (rs_ssse3.cc with -mssse3, rs_avx2.cc with -mavx2). It must therefore hold ONLY
// declarations and constants: an inline function or template defined here would be
// compiled once per TU with different instruction sets, and the linker is free to
// keep the AVX2 copy for every caller (ODR/COMDAT folding), which would crash
// pre-AVX2 CPUs. For the same reason the SIMD files include no standard-library
// headers that instantiate templates.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dfs::rs::kernels {

// Split-nibble multiplication tables for every coefficient c (0..255):
//   gf_nibble_tables.t[c][x]      = c * x         for x in 0..15
//   gf_nibble_tables.t[c][16 + x] = c * (x << 4)  for x in 0..15
// so c * b == tbl[b & 15] ^ tbl[16 + (b >> 4)]. Built at compile time (8 KiB,
// 64-byte aligned), so no kernel ever needs a per-call table build or a static-init
// ordering guarantee.
struct NibbleTables {
  uint8_t t[256][32];
};
extern const NibbleTables gf_nibble_tables;

// Signature shared by every kernel and by dfs::rs::dot_product:
// for o in [0, nout): out[o][0..len) = XOR over s in [0, nsrc) of
//   coeffs[o * nsrc + s] * src[s][0..len)
// Preconditions: nsrc >= 1, nout >= 1; every src/out pointer valid for len bytes
// (any alignment); no out buffer overlaps any src or other out buffer. len may be 0.
using DotProductFn = void (*)(const uint8_t* coeffs, int nsrc, int nout,
                              const uint8_t* const* src, uint8_t* const* out, size_t len);

void dot_product_scalar(const uint8_t* coeffs, int nsrc, int nout, const uint8_t* const* src,
                        uint8_t* const* out, size_t len);
void dot_product_ssse3(const uint8_t* coeffs, int nsrc, int nout, const uint8_t* const* src,
                       uint8_t* const* out, size_t len);
void dot_product_avx2(const uint8_t* coeffs, int nsrc, int nout, const uint8_t* const* src,
                      uint8_t* const* out, size_t len);

// Scalar worker the SIMD kernels use for short tails: like dot_product_scalar but
// over bytes [off, off + len) of every buffer, for sources [s_begin, s_begin + ns)
// (coefficients still indexed with row stride nsrc). accumulate=false overwrites
// out, accumulate=true XORs into it.
void dot_product_scalar_range(const uint8_t* coeffs, int nsrc, int s_begin, int ns, int nout,
                              const uint8_t* const* src, uint8_t* const* out, size_t off,
                              size_t len, bool accumulate);

// Nibble-table expansion for a SIMD pass: copies the 32-byte tables of outputs
// [o_begin, o_begin + no) x sources [s_begin, s_begin + ns) into dst, laid out
// source-major — dst[((s - s_begin) * no + (o - o_begin)) * 32] — so a kernel walks
// one pointer forward as it walks the sources. dst must hold ns * no * 32 bytes.
void expand_nibble_tables(const uint8_t* coeffs, int nsrc, int o_begin, int no, int s_begin,
                          int ns, uint8_t* dst);

// Gauss-Jordan inversion of the n x n matrix m in place (n >= 1). Returns -1 on
// success, else the first column without a pivot (singular; m is then garbage).
// dfs::rs::gf_invert_matrix is the Status-returning public form.
int invert_matrix_in_place(uint8_t* m, int n);

// Limits the SIMD kernels share (both size stack buffers from them).
constexpr int kMaxOutPerPass = 6;     // accumulators kept in registers per pass
constexpr int kMaxSrcPerChunk = 128;  // sources per table buffer; more -> accumulate pass

}  // namespace dfs::rs::kernels
