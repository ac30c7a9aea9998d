// blake3_portable.cc — the plain C++ BLAKE3 compression function and hash_many.
// It is the reference every SIMD kernel is tested against, and the path used when
// the CPU lacks SSE4.1 or DYNAMICFS_BLAKE3_ISA=portable. No intrinsics here.
#include "blake3_internal.h"

namespace dfs::blake3::internal {
namespace {

DFS_B3_INLINE uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

// The quarter-round: mixes one column or diagonal of the 4x4 state with two
// message words.
DFS_B3_INLINE void g(uint32_t v[16], int a, int b, int c, int d, uint32_t mx, uint32_t my) {
  v[a] = v[a] + v[b] + mx;
  v[d] = rotr(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = rotr(v[b] ^ v[c], 12);
  v[a] = v[a] + v[b] + my;
  v[d] = rotr(v[d] ^ v[a], 8);
  v[c] = v[c] + v[d];
  v[b] = rotr(v[b] ^ v[c], 7);
}

DFS_B3_INLINE void round_fn(uint32_t v[16], const uint32_t m[16], size_t r) {
  const uint8_t* s = kSchedule.w[r];
  // Columns, then diagonals.
  g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
  g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
  g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
  g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
  g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
  g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
  g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
  g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

// Runs the 7 rounds; leaves the full 16-word state in v for the caller to fold.
DFS_B3_INLINE void compress_core(const uint32_t cv[8], const uint8_t block[kBlockLen],
                                 uint8_t block_len, uint64_t counter, uint8_t flags,
                                 uint32_t v[16]) {
  uint32_t m[16];
  for (size_t i = 0; i < 16; ++i) m[i] = load32(block + 4 * i);
  for (size_t i = 0; i < 8; ++i) v[i] = cv[i];
  for (size_t i = 0; i < 4; ++i) v[8 + i] = kIv[i];
  v[12] = static_cast<uint32_t>(counter);
  v[13] = static_cast<uint32_t>(counter >> 32);
  v[14] = block_len;
  v[15] = flags;
#pragma GCC unroll 7
  for (size_t r = 0; r < kRounds; ++r) round_fn(v, m, r);
}

}  // namespace

void compress_in_place_portable(uint32_t cv[8], const uint8_t block[kBlockLen],
                                uint8_t block_len, uint64_t counter, uint8_t flags) {
  uint32_t v[16];
  compress_core(cv, block, block_len, counter, flags, v);
  for (size_t i = 0; i < 8; ++i) cv[i] = v[i] ^ v[i + 8];
}

void compress_xof_portable(const uint32_t cv[8], const uint8_t block[kBlockLen],
                           uint8_t block_len, uint64_t counter, uint8_t flags,
                           uint8_t out[kBlockLen]) {
  uint32_t v[16];
  compress_core(cv, block, block_len, counter, flags, v);
  // The second half of the extended output feeds the input CV forward again.
  for (size_t i = 0; i < 8; ++i) {
    store32(out + 4 * i, v[i] ^ v[i + 8]);
    store32(out + 32 + 4 * i, v[i + 8] ^ cv[i]);
  }
}

void hash_many_portable(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
                        const uint32_t key[8], uint64_t counter, bool increment_counter,
                        uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  for (size_t i = 0; i < num_inputs; ++i, out += kOutLen) {
    hash_one<compress_in_place_portable>(inputs[i], blocks, key, counter, flags, flags_start,
                                         flags_end, out);
    if (increment_counter) ++counter;
  }
}

}  // namespace dfs::blake3::internal
