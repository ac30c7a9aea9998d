// blake3.h — BLAKE3 (hash, keyed_hash, derive_key, extendable output), written from
// the BLAKE3 specification. Compression has a portable form and SIMD forms that
// compress many chunks (and many parent nodes) at once: SSE4.1 4-way and AVX2 8-way,
// picked at first use by CPU detection. Env DYNAMICFS_BLAKE3_ISA=portable|sse41|avx2
// caps the choice; every form must produce identical output (tests check).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace dfs::blake3 {

constexpr size_t kOutLen = 32;
constexpr size_t kKeyLen = 32;
constexpr size_t kBlockLen = 64;
constexpr size_t kChunkLen = 1024;

enum class Isa { kPortable = 0, kSse41 = 1, kAvx2 = 2 };
Isa active_isa();
const char* isa_name(Isa isa);  // "portable" | "sse41" | "avx2"

// Incremental hasher. Usage: construct (plain / keyed / derive-key), Update() any
// number of times with any lengths, Finalize() any number of times (it does not
// change the state), optionally at a seek offset into the extendable output.
class Hasher {
 public:
  Hasher();                                  // hash mode
  explicit Hasher(const uint8_t key[kKeyLen]);  // keyed_hash mode
  // derive_key mode: the context string is hashed first (DERIVE_KEY_CONTEXT), its
  // 32-byte output becomes the key words for DERIVE_KEY_MATERIAL.
  static Hasher DeriveKey(const char* context, size_t context_len);

  void Update(const uint8_t* input, size_t len);
  // Write out_len bytes of output starting at byte `seek` of the output stream.
  void Finalize(uint8_t* out, size_t out_len, uint64_t seek = 0) const;
  void Reset();  // back to the empty input, same mode and key

  // Internal state: public so the implementation file can be plain functions.
  uint32_t key[8];
  uint32_t cv[8];           // chaining value of the current chunk
  uint64_t chunk_counter;
  uint8_t buf[kBlockLen];   // partial block of the current chunk
  uint8_t buf_len;
  uint8_t blocks_compressed;  // full blocks compressed in the current chunk
  uint8_t flags;              // mode flags (KEYED_HASH / DERIVE_KEY_MATERIAL)
  uint8_t cv_stack_len;
  uint8_t cv_stack[(54 + 1) * kOutLen];  // subtree chaining values (max depth 54)
};

// One-shot helpers.
void hash(const uint8_t* input, size_t len, uint8_t* out, size_t out_len);
void keyed_hash(const uint8_t key[kKeyLen], const uint8_t* input, size_t len,
                uint8_t* out, size_t out_len);
void derive_key(const char* context, size_t context_len, const uint8_t* material,
                size_t material_len, uint8_t* out, size_t out_len);

}  // namespace dfs::blake3
