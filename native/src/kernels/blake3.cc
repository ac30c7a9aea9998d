// blake3.cc — the BLAKE3 Hasher and the one-shot helpers, on top of the kernels
// that blake3_dispatch.cc picks.
//
// Tree bookkeeping: input is split into 1 KiB chunks; each chunk's chaining value
// (CV) goes on a stack of subtree CVs, and whenever the chunk count says two
// subtrees of equal size sit on top (more stack entries than the count has set
// bits), they are merged into their parent. Merging is lazy — done just before
// the next push — because the last node must be compressed with ROOT, and until
// more input arrives we cannot know which node is last.
//
// Fast path: at a chunk boundary with more than one chunk of input left, Update
// covers as much of the input as it can (up to 128 KiB per batch) with aligned
// power-of-two subtrees of whole chunks, hashes all their chunks in one hash_many
// call, then reduces each subtree's parent levels with hash_many too, stopping at
// its two halves' CVs. Those are pushed unmerged, so if the subtree turns out to
// end the input, Finalize still builds the ROOT node from the pair. A lone last
// chunk always goes through the chunk state instead, so a one-chunk input is
// finalized from the chunk state as ROOT.
#include <cstring>

#include "blake3_internal.h"
#include "dfs/blake3.h"

namespace dfs::blake3 {
namespace {

using internal::Ops;

// Most whole chunks hashed per fast-path batch: 128 chunks = 128 KiB of input and
// 4 KiB of CVs on the stack frame. Larger inputs take several batches, merged
// through the CV stack.
constexpr size_t kMaxBatchChunks = 128;

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

// Reduces the n CVs at `cvs` (n a power of two >= 2, one aligned subtree) to the
// CVs of its two halves, written to out[0..64). Each level is one hash_many call,
// so wide subtrees get their parents SIMD-wide too. `ptrs` and `scratch` have
// room for n/2 entries; cvs is clobbered.
void reduce_subtree(const Hasher& h, const Ops& ops, uint8_t* cvs, size_t n,
                    const uint8_t** ptrs, uint8_t* scratch, uint8_t out[2 * kOutLen]) {
  // Ping-pong between two buffers: hash_many's output must not overlap its inputs.
  uint8_t* cur = cvs;
  uint8_t* next = scratch;
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

// Update's fast path, called at a chunk boundary with len > kChunkLen. Covers a
// prefix of the input with aligned power-of-two subtrees of whole chunks (at most
// kMaxBatchChunks in all), hashes all their chunks with ONE hash_many call — so
// e.g. an 8191-byte update (subtrees of 4, 2, 1 chunks) still fills the SIMD
// lanes — then reduces each subtree and pushes it: one CV for a single chunk,
// the two half CVs otherwise (left unmerged: if the input ends with this subtree,
// its root is the ROOT node, which only Finalize may compress). Never takes the
// last byte of input unless it ends a subtree of 2+ chunks, so a final lone chunk
// is always finalized from the chunk state. Returns the bytes consumed.
size_t hash_whole_chunks(Hasher& h, const Ops& ops, const uint8_t* in, size_t len) {
  constexpr size_t kMaxPlan = 16;  // sizes rise then fall: at most 2 * log2(128) + 1
  size_t plan[kMaxPlan];
  size_t count = 0, total = 0;
  uint64_t chunk = h.chunk_counter;
  size_t rem = len;
  while (rem > kChunkLen && total < kMaxBatchChunks && count < kMaxPlan) {
    size_t n = kMaxBatchChunks;
    while (n > kMaxBatchChunks - total || n * kChunkLen > rem) n /= 2;
    // A subtree must start at a multiple of its size to be a node of the tree.
    while ((chunk & (n - 1)) != 0) n /= 2;
    plan[count++] = n;
    total += n;
    chunk += n;
    rem -= n * kChunkLen;
  }
  // Zeroed only to keep -Wmaybe-uninitialized quiet; 1 KiB is noise next to the input.
  const uint8_t* ptrs[kMaxBatchChunks] = {};
  uint8_t cvs[kMaxBatchChunks * kOutLen];
  uint8_t scratch[kMaxBatchChunks / 2 * kOutLen];
  for (size_t i = 0; i < total; ++i) ptrs[i] = in + i * kChunkLen;
  ops.hash_many(ptrs, total, internal::kBlocksPerChunk, h.key, h.chunk_counter, true, h.flags,
                internal::kChunkStart, internal::kChunkEnd, cvs);
  uint8_t* sub = cvs;
  for (size_t k = 0; k < count; ++k) {
    const size_t n = plan[k];
    merge_cv_stack(h, ops, h.chunk_counter);
    uint8_t* top = h.cv_stack + h.cv_stack_len * kOutLen;
    if (n == 1) {
      std::memcpy(top, sub, kOutLen);
      h.cv_stack_len += 1;
    } else {
      reduce_subtree(h, ops, sub, n, ptrs, scratch, top);
      h.cv_stack_len += 2;  // depth stays <= 55: popcount(even counter) <= 53, plus 2
    }
    h.chunk_counter += n;
    sub += n * kOutLen;
  }
  return total * kChunkLen;
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
  while (len > kChunkLen) {
    const size_t done = hash_whole_chunks(*this, ops, input, len);
    input += done;
    len -= done;
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
