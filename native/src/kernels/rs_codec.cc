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
// what an m=2 encode costs. Per-call setup (submatrix inversion, coefficient rows)
// uses stack scratch for every shape up to k = 40, so small-shard rebuilds do not
// hit the allocator.
#include <cstring>
#include <string>
#include <vector>

#include "dfs/rs.h"

namespace dfs::rs {

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
  if (k + m > kMaxShards) {
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
  bool is_target[kMaxShards] = {};
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
    if (is_target[idx]) {
      return Status::Error("EINVAL",
                           "reconstruct: shard " + std::to_string(idx) + " is targeted twice");
    }
    if (shards[idx] == nullptr && len > 0) {
      return Status::Error("EINVAL", "reconstruct: target shard " + std::to_string(idx) +
                                         " has no output buffer");
    }
    is_target[idx] = true;
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

  const size_t kk = static_cast<size_t>(k_) * k_;
  const size_t ncoef = static_cast<size_t>(ntargets) * k_;
  uint8_t stack_scratch[4096];  // k <= 40: 40*40 + 32*40 fits; bigger shapes use the heap
  std::vector<uint8_t> heap_scratch;
  uint8_t* scratch = stack_scratch;
  if (kk + ncoef > sizeof(stack_scratch)) {
    heap_scratch.resize(kk + ncoef);
    scratch = heap_scratch.data();
  }
  uint8_t* inv = scratch;           // k x k: rows of [I; C] for the sources, then inverted
  uint8_t* coef = scratch + kk;     // ntargets x k

  bool all_data = true;  // sources are data shards 0..k-1: the inverse is the identity
  for (int i = 0; i < k_; ++i) all_data = all_data && rows[i] == i;
  if (!all_data) {
    for (int i = 0; i < k_; ++i) {
      std::memcpy(inv + static_cast<size_t>(i) * k_, matrix_row(rows[i]), k_);
    }
    Status s = gf_invert_matrix(inv, k_);
    if (!s.ok()) {  // impossible for a Cauchy code; kept so a corrupt matrix cannot go silent
      return Status::Error("EINVAL", "reconstruct: source submatrix is singular: " + s.message);
    }
  }

  // Coefficient row per target: data shard d is row d of the inverse; parity shard p
  // is (row p of [I; C]) x inverse, since source = sub * data => data = inv * source.
  for (int t = 0; t < ntargets; ++t) {
    const int idx = targets[t];
    uint8_t* c = coef + static_cast<size_t>(t) * k_;
    if (all_data) {  // only parity can be missing here; its row applies directly
      std::memcpy(c, matrix_row(idx), k_);
    } else if (idx < k_) {
      std::memcpy(c, inv + static_cast<size_t>(idx) * k_, k_);
    } else {
      const uint8_t* prow = matrix_row(idx);
      std::memset(c, 0, k_);
      for (int i = 0; i < k_; ++i) {
        if (prow[i] == 0) continue;
        const uint8_t* irow = inv + static_cast<size_t>(i) * k_;
        for (int j = 0; j < k_; ++j) c[j] ^= gf_mul(prow[i], irow[j]);
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
