// gf256.cc — GF(2^8) arithmetic with polynomial 0x11D (x^8+x^4+x^3+x^2+1), generator 2.
//
// All tables are computed at compile time (constexpr), so they live in .rodata: no
// static-initialisation order hazard if a codec is used from another TU's static
// constructor, and no start-up cost when the addon loads. This polynomial is part of
// the on-disk format (rs.h); it is also the one Intel ISA-L uses, which lets the
// tests cross-check parity bytes against ISA-L.
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "dfs/rs.h"
#include "rs_kernels.h"

namespace dfs::rs {
namespace {

constexpr unsigned kPoly = 0x11D;

struct LogExp {
  uint8_t exp[512];  // exp[i] = 2^i, doubled so exp[log a + log b] needs no mod 255
  uint8_t log[256];  // log[0] is unused (0 has no logarithm)
};

constexpr LogExp MakeLogExp() {
  LogExp t{};
  unsigned x = 1;
  for (int i = 0; i < 255; ++i) {
    t.exp[i] = static_cast<uint8_t>(x);
    t.exp[i + 255] = static_cast<uint8_t>(x);
    t.log[x] = static_cast<uint8_t>(i);
    x <<= 1;
    if (x & 0x100) x ^= kPoly;
  }
  t.exp[510] = t.exp[0];  // log a + log b <= 508; keep the tail defined anyway
  t.exp[511] = t.exp[1];
  return t;
}

constexpr LogExp kLE = MakeLogExp();

// Carry-less "Russian peasant" product: independent of the log tables, so the
// nibble tables below do not depend on the correctness of MakeLogExp.
constexpr uint8_t PeasantMul(unsigned a, unsigned b) {
  unsigned r = 0;
  while (b) {
    if (b & 1) r ^= a;
    b >>= 1;
    a <<= 1;
    if (a & 0x100) a ^= kPoly;
  }
  return static_cast<uint8_t>(r);
}

constexpr kernels::NibbleTables MakeNibbles() {
  kernels::NibbleTables n{};
  for (unsigned c = 0; c < 256; ++c) {
    for (unsigned x = 0; x < 16; ++x) {
      n.t[c][x] = PeasantMul(c, x);
      n.t[c][16 + x] = PeasantMul(c, x << 4);
    }
  }
  return n;
}

}  // namespace

namespace kernels {

// 64-byte aligned so each coefficient's 32 bytes sit in one cache line and the SIMD
// kernels' 16-byte table loads never split a line.
alignas(64) constexpr NibbleTables gf_nibble_tables = MakeNibbles();

void expand_nibble_tables(const uint8_t* coeffs, int nsrc, int o_begin, int no, int s_begin,
                          int ns, uint8_t* dst) {
  for (int s = 0; s < ns; ++s) {
    for (int o = 0; o < no; ++o) {
      const uint8_t c = coeffs[static_cast<size_t>(o_begin + o) * nsrc + (s_begin + s)];
      std::memcpy(dst + (static_cast<size_t>(s) * no + o) * 32, gf_nibble_tables.t[c], 32);
    }
  }
}

}  // namespace kernels

uint8_t gf_mul(uint8_t a, uint8_t b) {
  if (a == 0 || b == 0) return 0;
  return kLE.exp[kLE.log[a] + kLE.log[b]];
}

uint8_t gf_inv(uint8_t a) {
  if (a == 0) return 0;  // precondition a != 0; 0 is a safe, documented non-answer
  return kLE.exp[255 - kLE.log[a]];
}

// In-place Gauss-Jordan with row pivoting (any non-zero pivot is exact in a finite
// field). Row swaps are undone at the end as column swaps in reverse order, which is
// what turns the in-place result into A^-1 rather than a row-permuted inverse.
// Elimination skips rows whose entry in the pivot column is already zero, so
// mostly-identity matrices cost far less than n^3. Returns the first column without
// a pivot (singular) or -1 on success; the Status wrapper is below, kept apart
// because Codec::Reconstruct calls this per rebuild and a Status costs a 104-byte
// zero-fill plus a string compare.
int kernels::invert_matrix_in_place(uint8_t* m, int n) {
  // Pivot row chosen for each column; on the stack for every size a codec can ask
  // for (n <= 255), on the heap beyond that.
  constexpr int kStackPerm = 256;
  int perm_small[kStackPerm];
  std::unique_ptr<int[]> perm_big;
  int* pv = perm_small;
  if (n > kStackPerm) {
    perm_big.reset(new int[n]);
    pv = perm_big.get();
  }
  const size_t N = static_cast<size_t>(n);
  for (int c = 0; c < n; ++c) {
    int r = c;
    while (r < n && m[r * N + c] == 0) ++r;
    if (r == n) return c;
    pv[c] = r;
    if (r != c) {
      for (int j = 0; j < n; ++j) std::swap(m[r * N + j], m[c * N + j]);
    }
    uint8_t* prow = m + c * N;
    // Scale the pivot row so the pivot becomes 1; the pivot slot itself takes the
    // inverse (the in-place trick: column c of the identity lives there). Products
    // use the nibble tables: branch-free, unlike log/exp with its zero test, which
    // mispredicts on the mixed zero/non-zero rows of a systematic submatrix.
    const uint8_t* tinv = kernels::gf_nibble_tables.t[gf_inv(prow[c])];
    prow[c] = 1;
    for (int j = 0; j < n; ++j) prow[j] = tinv[prow[j] & 15] ^ tinv[16 + (prow[j] >> 4)];
    for (int i = 0; i < n; ++i) {
      if (i == c) continue;
      uint8_t* row = m + i * N;
      const uint8_t f = row[c];
      if (f == 0) continue;
      row[c] = 0;
      const uint8_t* tf = kernels::gf_nibble_tables.t[f];
      for (int j = 0; j < n; ++j) row[j] ^= tf[prow[j] & 15] ^ tf[16 + (prow[j] >> 4)];
    }
  }
  for (int c = n - 1; c >= 0; --c) {
    const int r = pv[c];
    if (r == c) continue;
    for (int i = 0; i < n; ++i) std::swap(m[i * N + r], m[i * N + c]);
  }
  return -1;
}

Status gf_invert_matrix(uint8_t* m, int n) {
  if (n <= 0) return Status::Error("EINVAL", "gf_invert_matrix: matrix size must be >= 1");
  const int col = kernels::invert_matrix_in_place(m, n);
  if (col >= 0) {
    return Status::Error("EINVAL", "gf_invert_matrix: matrix is singular (column " +
                                       std::to_string(col) + " has no pivot)");
  }
  return Status::Ok();
}

}  // namespace dfs::rs
