// rs_codec.cc — the systematic Reed-Solomon codec (encode and reconstruct).
//
// Encoding matrix (ON-DISK FORMAT — never change): rows 0..k-1 are the identity,
// parity row i (0..m-1) is the Cauchy row C[i][j] = 1 / ((k + i) XOR j) for data
// column j (x_i = k + i, y_j = j). The x's and y's are disjoint sets of distinct
// field elements, so every square submatrix of [I; C] is invertible (MDS). This is
// the same matrix as ISA-L's gf_gen_cauchy1_matrix.
//
// Both operations end in ONE dot_product call, so all outputs are produced in a
// single pass over the source shards: reconstructing two lost shards costs about
// what an m=2 encode costs. Reconstruct's per-call setup inverts only the block of
// the source matrix that is not identity (e x e for e lost data shards) and lives on
// the stack (~16 KiB at worst), so 4 KiB-shard rebuilds neither allocate nor spend
// long on algebra.
#include <cstring>
#include <string>

#include "dfs/rs.h"
#include "rs_kernels.h"

namespace dfs::rs {
namespace {

// w * x through w's nibble table: branch-free and inlined, for the per-rebuild
// coefficient algebra (the exported gf_mul is an out-of-line log/exp lookup).
inline uint8_t MulT(const uint8_t* tw, uint8_t x) {
  return static_cast<uint8_t>(tw[x & 15] ^ tw[16 + (x >> 4)]);
}

}  // namespace

Codec::Codec(int k, int m) : k_(k), m_(m), matrix_(static_cast<size_t>(k + m) * k, 0) {
  for (int i = 0; i < k; ++i) matrix_[static_cast<size_t>(i) * k + i] = 1;
  for (int i = 0; i < m; ++i) {
    uint8_t* row = &matrix_[static_cast<size_t>(k + i) * k];
    for (int j = 0; j < k; ++j) row[j] = gf_inv(static_cast<uint8_t>((k + i) ^ j));
  }
}

Status Codec::Create(int k, int m, std::unique_ptr<Codec>* out) {
  if (k < 1) {
    return Status::Error("EINVAL", "RS k (data shards) must be >= 1, got " + std::to_string(k));
  }
  if (m < 0) {
    return Status::Error("EINVAL", "RS m (parity shards) must be >= 0, got " + std::to_string(m));
  }
  if (m > kMaxParity) {
    return Status::Error("EINVAL", "RS m (parity shards) must be <= " + std::to_string(kMaxParity) +
                                       ", got " + std::to_string(m));
  }
  if (k > kMaxShards - m) {  // k + m > kMaxShards, without overflow for huge k
    return Status::Error("EINVAL", "RS k + m must be <= " + std::to_string(kMaxShards) +
                                       " (GF(2^8) limit), got " + std::to_string(k) + " + " +
                                       std::to_string(m));
  }
  out->reset(new Codec(k, m));
  return Status::Ok();
}

void Codec::Encode(const uint8_t* const* data, uint8_t* const* parity, size_t len) const {
  if (m_ == 0 || len == 0) return;
  // The parity rows k..k+m-1 are contiguous with stride k: exactly dot_product's
  // coefficient layout.
  dot_product(matrix_row(k_), k_, m_, data, parity, len);
}

Status Codec::Reconstruct(uint8_t* const* shards, const bool* present, const int* targets,
                          int ntargets, size_t len) const {
  const int n = k_ + m_;
  if (ntargets < 0) {
    return Status::Error("EINVAL", "reconstruct: target count must be >= 0, got " +
                                       std::to_string(ntargets));
  }
  for (int t = 0; t < ntargets; ++t) {
    const int idx = targets[t];
    if (idx < 0 || idx >= n) {
      return Status::Error("EINVAL", "reconstruct: target shard " + std::to_string(idx) +
                                         " is out of range 0.." + std::to_string(n - 1));
    }
    if (present[idx]) {
      return Status::Error("EINVAL", "reconstruct: target shard " + std::to_string(idx) +
                                         " is marked present; targets must be missing shards");
    }
    for (int u = 0; u < t; ++u) {  // quadratic, but targets are few (<= m when valid)
      if (targets[u] == idx) {
        return Status::Error("EINVAL",
                             "reconstruct: shard " + std::to_string(idx) + " is targeted twice");
      }
    }
    if (shards[idx] == nullptr && len > 0) {
      return Status::Error("EINVAL", "reconstruct: target shard " + std::to_string(idx) +
                                         " has no output buffer");
    }
  }

  // The first k present shards are the sources.
  int rows[kMaxShards];
  int npresent = 0;
  for (int i = 0; i < n; ++i) {
    if (!present[i]) continue;
    if (npresent < k_) rows[npresent] = i;
    ++npresent;
  }
  if (npresent < k_) {
    return Status::Error("ETOOMANYLOST", "need " + std::to_string(k_) +
                                             " fragments to reconstruct, only " +
                                             std::to_string(npresent) + " present");
  }
  if (ntargets == 0 || len == 0) return Status::Ok();

  // Decode matrix. Conceptually: stack the k source rows of [I; C] into S, invert,
  // and a data target d takes row d of S^-1 (data = S^-1 * sources). But S is
  // systematic — the present data shards are identity rows — so S^-1 is computed
  // blockwise, inverting only the e x e block of the e parity sources against the e
  // lost data columns (e = number of lost data shards <= m). With D the present data
  // and L the lost data: parity_b = sum_j C[b][j] d_j over D + sum_a M[b][a] d_L[a],
  // so d_L = M^-1 * (parity + A * d_D) (+ is XOR). The result is the same unique
  // inverse, for a fraction of the work: a 2-shard rebuild of 8+3 inverts 2 x 2.
  int src_of_data[kMaxShards];   // data column -> source position, or -1 if lost
  int lost[kMaxParity];          // lost data columns, ascending
  int slot_of_lost[kMaxShards];  // data column -> index into lost[] (lost columns only)
  int par_pos[kMaxParity];       // source positions of the parity sources
  int e = 0, np = 0;
  for (int j = 0; j < k_; ++j) src_of_data[j] = -1;
  for (int i = 0; i < k_; ++i) {
    if (rows[i] < k_) {
      src_of_data[rows[i]] = i;
    } else {
      par_pos[np++] = i;  // np <= m: at most m parity shards exist
    }
  }
  for (int j = 0; j < k_; ++j) {
    if (src_of_data[j] < 0) {
      slot_of_lost[j] = e;
      lost[e++] = j;
    }
  }
  // e == np: k sources, k - np of them data.

  uint8_t minv[kMaxParity * kMaxParity];
  for (int b = 0; b < e; ++b) {
    const uint8_t* crow = matrix_row(rows[par_pos[b]]);
    for (int a = 0; a < e; ++a) minv[b * e + a] = crow[lost[a]];
  }
  if (e > 0 && kernels::invert_matrix_in_place(minv, e) >= 0) {
    // Impossible for a Cauchy code; kept so a corrupted matrix cannot go silent.
    return Status::Error("EINVAL", "reconstruct: decode submatrix is singular");
  }

  // drow[a]: coefficients over the k sources that produce lost data column lost[a].
  // Sized for the worst case e * k <= m * (255 - m) <= 7136 bytes: stack, never heap.
  const size_t K = static_cast<size_t>(k_);
  uint8_t drow[kMaxParity * (kMaxShards - kMaxParity)];
  for (int a = 0; a < e; ++a) {
    uint8_t* row = drow + a * K;
    std::memset(row, 0, K);
    for (int b = 0; b < e; ++b) {
      const uint8_t w = minv[a * e + b];
      const uint8_t* tw = kernels::gf_nibble_tables.t[w];
      row[par_pos[b]] = w;
      const uint8_t* crow = matrix_row(rows[par_pos[b]]);
      for (int j = 0; j < k_; ++j) {
        if (src_of_data[j] >= 0) row[src_of_data[j]] ^= MulT(tw, crow[j]);
      }
    }
  }

  // One coefficient row per target: a lost data shard is its drow; a parity shard t
  // is sum_j C[t][j] * (data column j expressed over the sources).
  uint8_t coef[kMaxParity * (kMaxShards - kMaxParity)];
  for (int t = 0; t < ntargets; ++t) {
    const int idx = targets[t];
    uint8_t* c = coef + t * K;
    if (idx < k_) {
      std::memcpy(c, drow + slot_of_lost[idx] * K, K);
      continue;
    }
    const uint8_t* trow = matrix_row(idx);
    std::memset(c, 0, K);
    for (int j = 0; j < k_; ++j) {
      if (src_of_data[j] >= 0) {
        c[src_of_data[j]] ^= trow[j];
      } else {
        const uint8_t* row = drow + slot_of_lost[j] * K;
        const uint8_t* tw = kernels::gf_nibble_tables.t[trow[j]];
        for (int i = 0; i < k_; ++i) c[i] ^= MulT(tw, row[i]);
      }
    }
  }

  const uint8_t* srcs[kMaxShards];
  uint8_t* outs[kMaxShards];
  for (int i = 0; i < k_; ++i) {
    srcs[i] = shards[rows[i]];
    if (srcs[i] == nullptr) {
      return Status::Error("EINVAL", "reconstruct: shard " + std::to_string(rows[i]) +
                                         " is marked present but has no buffer");
    }
  }
  for (int t = 0; t < ntargets; ++t) outs[t] = shards[targets[t]];
  dot_product(coef, k_, ntargets, srcs, outs, len);
  return Status::Ok();
}

}  // namespace dfs::rs
