// rs.h — systematic Reed-Solomon erasure coding over GF(2^8).
//
// Shards 0..k-1 are the data, shards k..k+m-1 the parity. The code is MDS: any k of
// the k+m shards recover all of them. Field: GF(2^8) with polynomial 0x11D
// (x^8+x^4+x^3+x^2+1), generator 2. Parity rows form a Cauchy matrix, so every
// k x k submatrix of [I; C] is invertible. These bytes are an on-disk format:
// changing the polynomial or the matrix breaks every pool ever written.
//
// SIMD: the multiply-accumulate kernel has a scalar, an SSSE3 and an AVX2 form
// (split-nibble tables with PSHUFB). The fastest the CPU supports is chosen at first
// use; env DYNAMICFS_RS_ISA=scalar|ssse3|avx2 caps it (tests prove all give the same
// bytes). All forms accept any length (no multiple-of-32 requirement) and any
// alignment.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "dfs/status.h"

namespace dfs::rs {

enum class Isa { kScalar = 0, kSsse3 = 1, kAvx2 = 2 };

constexpr int kMaxShards = 255;  // k + m <= 255 (GF(2^8) Cauchy limit is 256 points)
constexpr int kMaxParity = 32;   // m <= 32

// The ISA in use (after CPU detection and the env cap). Thread-safe, cheap.
Isa active_isa();
const char* isa_name(Isa isa);  // "scalar" | "ssse3" | "avx2"

// An encoder for one (k, m) shape. Immutable after create(): safe to share across
// threads. Holds only the Cauchy matrix; the nibble tables are one compile-time global.
class Codec {
 public:
  // k >= 1, m >= 1 (m == 0 allowed: encode is a no-op), k + m <= kMaxShards,
  // m <= kMaxParity. Else EINVAL with a message naming the limit.
  static Status Create(int k, int m, std::unique_ptr<Codec>* out);

  int k() const { return k_; }
  int m() const { return m_; }

  // parity[j] = sum_i C[j][i] * data[i], for len bytes. data: k pointers; parity: m
  // pointers. Buffers must not overlap. Never fails for valid pointers.
  void Encode(const uint8_t* const* data, uint8_t* const* parity, size_t len) const;

  // shards: k+m pointers, each to len bytes. present[i] says whether shard i holds
  // valid bytes. targets: indices (0..k+m-1, not present) to compute, written into
  // shards[target]. Uses the first k present shards. Data and parity targets may be
  // mixed. Errors: EINVAL (bad index, target also present, duplicate target),
  // ETOOMANYLOST (fewer than k shards present).
  Status Reconstruct(uint8_t* const* shards, const bool* present, const int* targets,
                     int ntargets, size_t len) const;

  // Row `row` (0..k+m-1) of the full (k+m) x k encoding matrix [I; C].
  const uint8_t* matrix_row(int row) const { return &matrix_[static_cast<size_t>(row) * k_]; }

 private:
  Codec(int k, int m);
  int k_, m_;
  std::vector<uint8_t> matrix_;  // (k+m) x k, row-major
};

// Low-level kernel (exposed for the benchmark and the tests): for each output o,
// out[o] = XOR over sources s of coeffs[o*nsrc + s] * src[s], over len bytes.
// nout >= 1, nsrc >= 1. Dispatches to the active ISA.
void dot_product(const uint8_t* coeffs, int nsrc, int nout, const uint8_t* const* src,
                 uint8_t* const* out, size_t len);

// GF(2^8) scalar helpers (polynomial 0x11D).
uint8_t gf_mul(uint8_t a, uint8_t b);
uint8_t gf_inv(uint8_t a);  // a != 0
// Invert an n x n matrix in place; EINVAL if singular.
Status gf_invert_matrix(uint8_t* m, int n);

}  // namespace dfs::rs
