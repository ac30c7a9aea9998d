// blake3.cc — the BLAKE3 Hasher and the one-shot helpers, on top of the kernels
// that blake3_dispatch.cc picks.
//
// Tree bookkeeping: input is split into 1 KiB chunks; each chunk's chaining value
// (CV) goes on a stack of subtree CVs, and whenever the chunk count says two
// subtrees of equal size sit on top (fewer stack entries than set bits of the
// count), they are merged into their parent. Merging is lazy — done just before
// the next push — because the last node must be compressed with ROOT, and until
// more input arrives we cannot know which node is last.
//
// Fast path: at a chunk boundary with more than one chunk of input left, Update
// hashes the largest aligned power-of-two run of whole chunks (capped so its CVs
// fit on the stack frame) with hash_many, then reduces its parent levels with
// hash_many too, stopping at the two halves' CVs. Both are pushed, unmerged, so if
// that subtree turns out to be the whole input, Finalize still builds the root from
// the pair. The last (up to) 1 KiB always goes through the chunk state instead, so
// a one-chunk input is finalized from the chunk state as ROOT.
#include <cstring>

#include "blake3_internal.h"
#include "dfs/blake3.h"

namespace dfs::blake3 {
namespace {

using internal::Ops;

// Largest subtree hashed in one go: 128 chunks = 128 KiB of input, 4 KiB of CVs on
// the stack frame. Larger inputs just take several subtrees, merged via the stack.
constexpr size_t kMaxSubtreeChunks = 128;

void init(Hasher& h, const uint32_t key[8], uint8_t flags) {
  std::memcpy(h.key, key, sizeof h.key);
  std::memcpy(h.cv, key, sizeof h.cv);
  h.chunk_counter = 0;
  h.buf_len = 0;
  h.blocks_compressed = 0;
  h.flags = flags;
  h.cv_stack_len = 0;
}

size_t chunk_fill(const Hasher& h) { return size_t(h.blocks_compressed) * kBlockLen + h.buf_len; }

uint8_t chunk_start_flag(const Hasher& h) {
  return h.blocks_compressed == 0 ? internal::kChunkStart : 0;
}

void reset_chunk(Hasher& h) {
  std::memcpy(h.cv, h.key, sizeof h.cv);
  h.buf_len = 0;
  h.blocks_compressed = 0;
}

// Absorbs len bytes (at most the rest of the current chunk) into the chunk state.
// The final block of what we hold always stays buffered: only once more input
// arrives do we know it is not the chunk's last block (which needs CHUNK_END).
void chunk_update(Hasher& h, const Ops& ops, const uint8_t* in, size_t len) {
  if (h.buf_len > 0) {
    const size_t take = len < kBlockLen - h.buf_len ? len : kBlockLen - h.buf_len;
    std::memcpy(h.buf + h.buf_len, in, take);
    h.buf_len = uint8_t(h.buf_len + take);
    in += take;
    len -= take;
    if (len == 0) return;
    ops.compress_in_place(h.cv, h.buf, kBlockLen, h.chunk_counter, h.flags | chunk_start_flag(h));
    ++h.blocks_compressed;
    h.buf_len = 0;
  }
  for (; len > kBlockLen; in += kBlockLen, len -= kBlockLen) {
    ops.compress_in_place(h.cv, in, kBlockLen, h.chunk_counter, h.flags | chunk_start_flag(h));
    ++h.blocks_compressed;
  }
  std::memcpy(h.buf, in, len);
  h.buf_len = uint8_t(len);
}

// A node whose last compression is still pending: it becomes a CV if more nodes
// follow, or the root (ROOT flag, extendable output) if it is the last one.
struct Output {
  uint32_t cv[8];
  uint8_t block[kBlockLen];
  uint8_t block_len;
  uint64_t counter;
  uint8_t flags;
};

Output chunk_output(const Hasher& h) {
  Output o;
  std::memcpy(o.cv, h.cv, sizeof o.cv);
  std::memset(o.block, 0, sizeof o.block);  // short final blocks are zero-padded
  std::memcpy(o.block, h.buf, h.buf_len);
  o.block_len = h.buf_len;
  o.counter = h.chunk_counter;
  o.flags = uint8_t(h.flags | chunk_start_flag(h) | internal::kChunkEnd);
  return o;
}

Output parent_output(const uint8_t children[2 * kOutLen], const Hasher& h) {
  Output o;
  std::memcpy(o.cv, h.key, sizeof o.cv);
  std::memcpy(o.block, children, kBlockLen);
  o.block_len = kBlockLen;
  o.counter = 0;
  o.flags = uint8_t(h.flags | internal::kParent);
  return o;
}

void output_cv(const Output& o, const Ops& ops, uint8_t out[kOutLen]) {
  uint32_t cv[8];
  std::memcpy(cv, o.cv, sizeof cv);
  ops.compress_in_place(cv, o.block, o.block_len, o.counter, o.flags);
  for (size_t i = 0; i < 8; ++i) internal::store32(out + 4 * i, cv[i]);
}

// Output bytes [seek, seek + out_len) of the root: output block k is the root
// compression with counter k, so seeking just starts at block seek / 64.
void output_root(const Output& o, const Ops& ops, uint64_t seek, uint8_t* out, size_t out_len) {
  uint64_t block_counter = seek / kBlockLen;
  size_t skip = size_t(seek % kBlockLen);
  uint8_t block[kBlockLen];
  while (out_len > 0) {
    ops.compress_xof(o.cv, o.block, o.block_len, block_counter, o.flags | internal::kRoot, block);
    const size_t n = out_len < kBlockLen - skip ? out_len : kBlockLen - skip;
    std::memcpy(out, block + skip, n);
    out += n;
    out_len -= n;
    skip = 0;
    ++block_counter;
  }
}

// Merges stack tops until one entry remains per set bit of total_chunks (the
// number of chunks whose CVs are accounted for). Each merge replaces two adjacent
// 32-byte CVs, which form the parent's 64-byte block in place, with the parent CV.
void merge_cv_stack(Hasher& h, const Ops& ops, uint64_t total_chunks) {
  const size_t keep = size_t(__builtin_popcountll(total_chunks));
  while (h.cv_stack_len > keep) {
    uint8_t* pair = h.cv_stack + (h.cv_stack_len - 2) * kOutLen;
    uint32_t cv[8];
    std::memcpy(cv, h.key, sizeof cv);
    ops.compress_in_place(cv, pair, kBlockLen, 0, h.flags | internal::kParent);
    for (size_t i = 0; i < 8; ++i) internal::store32(pair + 4 * i, cv[i]);
    --h.cv_stack_len;
  }
}

// Hashes n whole chunks (n a power of two, 2 <= n <= kMaxSubtreeChunks) that form
// one aligned subtree starting at chunk `counter`, and writes the CVs of its left
// and right halves to out[0..64). Every level runs through hash_many, so all but
// the top levels use the full SIMD width.
void compress_subtree(const Hasher& h, const Ops& ops, const uint8_t* in, size_t n,
                      uint8_t out[2 * kOutLen]) {
  // Zeroed only to keep -Wmaybe-uninitialized quiet; 1 KiB is noise next to n KiB of input.
  const uint8_t* ptrs[kMaxSubtreeChunks] = {};
  uint8_t cvs[kMaxSubtreeChunks * kOutLen];
  uint8_t parents[kMaxSubtreeChunks / 2 * kOutLen];
  for (size_t i = 0; i < n; ++i) ptrs[i] = in + i * kChunkLen;
  ops.hash_many(ptrs, n, internal::kBlocksPerChunk, h.key, h.chunk_counter, true, h.flags,
                internal::kChunkStart, internal::kChunkEnd, cvs);
  // Level by level, adjacent CV pairs are parent blocks; ping-pong between two
  // buffers because hash_many's output must not overlap its inputs.
  uint8_t* cur = cvs;
  uint8_t* next = parents;
  for (; n > 2; n /= 2) {
    for (size_t i = 0; i < n / 2; ++i) ptrs[i] = cur + i * kBlockLen;
    ops.hash_many(ptrs, n / 2, 1, h.key, 0, false, uint8_t(h.flags | internal::kParent), 0, 0,
                  next);
    uint8_t* t = cur;
    cur = next;
    next = t;
  }
  std::memcpy(out, cur, 2 * kOutLen);
}

}  // namespace

Hasher::Hasher() { init(*this, internal::kIv, 0); }

Hasher::Hasher(const uint8_t k[kKeyLen]) {
  uint32_t words[8];
  for (size_t i = 0; i < 8; ++i) words[i] = internal::load32(k + 4 * i);
  init(*this, words, internal::kKeyedHash);
}

Hasher Hasher::DeriveKey(const char* context, size_t context_len) {
  Hasher ctx;
  init(ctx, internal::kIv, internal::kDeriveKeyContext);
  ctx.Update(reinterpret_cast<const uint8_t*>(context), context_len);
  uint8_t context_key[kKeyLen];
  ctx.Finalize(context_key, kKeyLen);
  uint32_t words[8];
  for (size_t i = 0; i < 8; ++i) words[i] = internal::load32(context_key + 4 * i);
  Hasher h;
  init(h, words, internal::kDeriveKeyMaterial);
  return h;
}

void Hasher::Reset() {
  chunk_counter = 0;
  cv_stack_len = 0;
  reset_chunk(*this);
}

void Hasher::Update(const uint8_t* input, size_t len) {
  if (len == 0) return;
  const Ops& ops = internal::ops();
  if (chunk_fill(*this) > 0) {
    const size_t room = kChunkLen - chunk_fill(*this);
    const size_t take = len < room ? len : room;
    chunk_update(*this, ops, input, take);
    input += take;
    len -= take;
    if (len == 0) return;
    // The chunk is full and more input follows, so it is not the root.
    uint8_t chunk_cv[kOutLen];
    output_cv(chunk_output(*this), ops, chunk_cv);
    merge_cv_stack(*this, ops, chunk_counter);
    std::memcpy(cv_stack + cv_stack_len * kOutLen, chunk_cv, kOutLen);
    ++cv_stack_len;
    ++chunk_counter;
    reset_chunk(*this);
  }
  // Whole chunks, but never the last byte of input (see the file comment).
  while (len > kChunkLen) {
    size_t n = kMaxSubtreeChunks;
    while (n * kChunkLen > len) n /= 2;
    // A subtree must start at a multiple of its size to be a node of the tree.
    while ((chunk_counter & (n - 1)) != 0) n /= 2;
    merge_cv_stack(*this, ops, chunk_counter);
    uint8_t* top = cv_stack + cv_stack_len * kOutLen;
    if (n == 1) {
      ops.hash_many(&input, 1, internal::kBlocksPerChunk, key, chunk_counter, true, flags,
                    internal::kChunkStart, internal::kChunkEnd, top);
      cv_stack_len += 1;
    } else {
      compress_subtree(*this, ops, input, n, top);
      cv_stack_len += 2;  // stack depth stays <= 55: popcount(even counter) <= 53
    }
    chunk_counter += n;
    input += n * kChunkLen;
    len -= n * kChunkLen;
  }
  if (len > 0) {
    // More input follows whatever the stack holds, so fold it now; Finalize then
    // only ever sees a fully merged stack when the chunk state is non-empty.
    merge_cv_stack(*this, ops, chunk_counter);
    chunk_update(*this, ops, input, len);
  }
}

void Hasher::Finalize(uint8_t* out, size_t out_len, uint64_t seek) const {
  if (out_len == 0) return;
  const Ops& ops = internal::ops();
  size_t i = cv_stack_len;
  Output o;
  if (chunk_fill(*this) > 0 || cv_stack_len == 0) {
    o = chunk_output(*this);  // also the empty input: one empty chunk
  } else {
    // Input ended on a wide subtree: its two halves are the unmerged stack top.
    i -= 2;
    o = parent_output(cv_stack + i * kOutLen, *this);
  }
  // Roll up: each remaining stack entry is a left sibling of everything after it.
  while (i > 0) {
    --i;
    uint8_t children[2 * kOutLen];
    std::memcpy(children, cv_stack + i * kOutLen, kOutLen);
    output_cv(o, ops, children + kOutLen);
    o = parent_output(children, *this);
  }
  output_root(o, ops, seek, out, out_len);
}

void hash(const uint8_t* input, size_t len, uint8_t* out, size_t out_len) {
  Hasher h;
  h.Update(input, len);
  h.Finalize(out, out_len);
}

void keyed_hash(const uint8_t key[kKeyLen], const uint8_t* input, size_t len, uint8_t* out,
                size_t out_len) {
  Hasher h(key);
  h.Update(input, len);
  h.Finalize(out, out_len);
}

void derive_key(const char* context, size_t context_len, const uint8_t* material,
                size_t material_len, uint8_t* out, size_t out_len) {
  Hasher h = Hasher::DeriveKey(context, context_len);
  h.Update(material, material_len);
  h.Finalize(out, out_len);
}

}  // namespace dfs::blake3
