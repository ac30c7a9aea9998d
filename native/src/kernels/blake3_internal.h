// blake3_internal.h — private pieces shared by the BLAKE3 kernel files: constants,
// the message schedule, the compression entry points of each instruction set, and
// the dispatch table that blake3.cc calls through.
//
// Layout (one file per instruction set, one dispatch file, as in STYLE.md):
//   blake3_portable.cc  plain C++ compression and hash_many (1 input at a time)
//   blake3_sse41.cc     row-based single-block compression + 4-way hash_many
//   blake3_avx2.cc      8-way hash_many, plus a 4-input kernel for remainders
//   blake3_dispatch.cc  CPU detection, DYNAMICFS_BLAKE3_ISA cap, the Ops table
//   blake3.cc           the Hasher (chunk state, CV stack, wide subtree fast path)
// SSE4.1 / AVX2 intrinsics appear only in their own files because only those files
// are compiled with -msse4.1 / -mavx2 (binding.gyp); everything else stays baseline.
#pragma once
#include <cstddef>
#include <cstdint>

#include "dfs/blake3.h"

#define DFS_B3_INLINE inline __attribute__((always_inline))

namespace dfs::blake3::internal {

// The BLAKE3 IV is the SHA-256 IV.
constexpr uint32_t kIv[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                             0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

// Domain flags, OR-ed into the last state word of each compression.
enum : uint8_t {
  kChunkStart = 1 << 0,
  kChunkEnd = 1 << 1,
  kParent = 1 << 2,
  kRoot = 1 << 3,
  kKeyedHash = 1 << 4,
  kDeriveKeyContext = 1 << 5,
  kDeriveKeyMaterial = 1 << 6,
};

constexpr size_t kRounds = 7;
constexpr size_t kBlocksPerChunk = kChunkLen / kBlockLen;

// Message schedule: row r lists which block word feeds message slot i in round r.
// Row 0 is the identity; each later row applies the BLAKE3 permutation to the row
// before it (permuted[i] = previous[kPermutation[i]]). Kernels index through this
// table instead of moving words around, so the whole schedule is compile-time data.
constexpr uint8_t kPermutation[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};
struct Schedule {
  uint8_t w[kRounds][16];
};
constexpr Schedule MakeSchedule() {
  Schedule s{};
  for (size_t i = 0; i < 16; ++i) s.w[0][i] = static_cast<uint8_t>(i);
  for (size_t r = 1; r < kRounds; ++r)
    for (size_t i = 0; i < 16; ++i) s.w[r][i] = s.w[r - 1][kPermutation[i]];
  return s;
}
constexpr Schedule kSchedule = MakeSchedule();

// Little-endian word access, written with shifts so it is correct on any host; the
// compilers we target turn these into single moves.
DFS_B3_INLINE uint32_t load32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
DFS_B3_INLINE void store32(uint8_t* p, uint32_t w) {
  p[0] = uint8_t(w);
  p[1] = uint8_t(w >> 8);
  p[2] = uint8_t(w >> 16);
  p[3] = uint8_t(w >> 24);
}

// --- Kernel signatures -------------------------------------------------------------
//
// compress_in_place: one compression of `block` (block_len valid bytes, the rest
// zero) under chaining value `cv`; replaces cv with the first 8 output words.
using CompressInPlaceFn = void (*)(uint32_t cv[8], const uint8_t block[kBlockLen],
                                   uint8_t block_len, uint64_t counter, uint8_t flags);
// compress_xof: the same compression, but writes all 64 output bytes (the root
// node's extended output block); cv is left untouched.
using CompressXofFn = void (*)(const uint32_t cv[8], const uint8_t block[kBlockLen],
                               uint8_t block_len, uint64_t counter, uint8_t flags,
                               uint8_t out[kBlockLen]);
// hash_many: hash `num_inputs` independent inputs, each exactly `blocks` full
// 64-byte blocks (N chunks with blocks = 16, or N parent nodes with blocks = 1).
// Input i starts from `key`, uses counter `counter + i` if increment_counter else
// `counter`, and compresses every block with `flags`, plus `flags_start` on its
// first block and `flags_end` on its last. Writes input i's 32-byte CV at
// out + 32 * i. `out` must not overlap any input. Never sets ROOT: the caller keeps
// the root for a separate compression.
using HashManyFn = void (*)(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
                            const uint32_t key[8], uint64_t counter, bool increment_counter,
                            uint8_t flags, uint8_t flags_start, uint8_t flags_end,
                            uint8_t* out);

void compress_in_place_portable(uint32_t cv[8], const uint8_t block[kBlockLen],
                                uint8_t block_len, uint64_t counter, uint8_t flags);
void compress_xof_portable(const uint32_t cv[8], const uint8_t block[kBlockLen],
                           uint8_t block_len, uint64_t counter, uint8_t flags,
                           uint8_t out[kBlockLen]);
void hash_many_portable(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
                        const uint32_t key[8], uint64_t counter, bool increment_counter,
                        uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out);

#if defined(__x86_64__) || defined(__i386__)
#define DFS_B3_X86 1
// Only valid when the CPU has SSE4.1 (dispatch checks).
void compress_in_place_sse41(uint32_t cv[8], const uint8_t block[kBlockLen],
                             uint8_t block_len, uint64_t counter, uint8_t flags);
void compress_xof_sse41(const uint32_t cv[8], const uint8_t block[kBlockLen],
                        uint8_t block_len, uint64_t counter, uint8_t flags,
                        uint8_t out[kBlockLen]);
// 4 inputs at a time, the remainder one at a time with compress_in_place_sse41.
void hash_many_sse41(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
                     const uint32_t key[8], uint64_t counter, bool increment_counter,
                     uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out);
// Only valid when the CPU has AVX2 and SSE4.1. 8 inputs at a time; a remainder of
// 2-7 runs padded to one more 8- or 4-wide group, a last single input through
// the SSE4.1 single-block compressor.
void hash_many_avx2(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
                    const uint32_t key[8], uint64_t counter, bool increment_counter,
                    uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out);
#endif

// Hash one input of `blocks` full blocks with a single-block compressor; the shared
// tail of every hash_many (inputs left over after the widest SIMD groups).
template <void (*Compress)(uint32_t*, const uint8_t*, uint8_t, uint64_t, uint8_t)>
DFS_B3_INLINE void hash_one(const uint8_t* input, size_t blocks, const uint32_t key[8],
                            uint64_t counter, uint8_t flags, uint8_t flags_start,
                            uint8_t flags_end, uint8_t out[kOutLen]) {
  uint32_t cv[8];
  for (size_t i = 0; i < 8; ++i) cv[i] = key[i];
  uint8_t block_flags = flags | flags_start;
  for (size_t b = 0; b < blocks; ++b, input += kBlockLen) {
    if (b + 1 == blocks) block_flags |= flags_end;
    Compress(cv, input, kBlockLen, counter, block_flags);
    block_flags = flags;
  }
  for (size_t i = 0; i < 8; ++i) store32(out + 4 * i, cv[i]);
}

// --- Dispatch ----------------------------------------------------------------------

struct Ops {
  Isa isa;
  CompressInPlaceFn compress_in_place;
  CompressXofFn compress_xof;
  HashManyFn hash_many;
};

// The table picked once per process (CPU detection, then the env cap). Thread-safe.
const Ops& ops();
// True if this CPU (and this build) can run `isa`.
bool cpu_supports(Isa isa);
// The table for one ISA, for tests that compare kernels in one process. The caller
// must check cpu_supports(isa) first; an unsupported ISA yields the portable table.
const Ops& ops_for(Isa isa);

}  // namespace dfs::blake3::internal
