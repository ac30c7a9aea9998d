// kernels_test.cc — the native kernels tested without Node (native/Makefile, `make test`).
//
// One run checks the instruction-set level the environment caps it to
// (DYNAMICFS_RS_ISA, DYNAMICFS_BLAKE3_ISA; the Makefile runs it once per level):
// - the level in use is the one asked for (or, on a CPU without it, a narrower one);
// - BLAKE3 against the official test vectors (hash, keyed_hash, derive_key; extended
//   output and its 32-byte prefix; one-shot and fed in uneven pieces);
// - Reed-Solomon: parity equals a byte-at-a-time GF(2^8) reference, and every pattern
//   of up to m erasures (data, parity, mixed) reconstructs the original shards, at
//   lengths that exercise the SIMD tails; more than m erasures is ETOOMANYLOST.
//
// Usage: kernels_test PATH/TO/blake3_test_vectors.json
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "dfs/blake3.h"
#include "dfs/rs.h"

namespace {

int failures = 0;

void Fail(const std::string& what) {
  std::fprintf(stderr, "FAIL %s\n", what.c_str());
  if (++failures > 20) {
    std::fprintf(stderr, "too many failures, stopping\n");
    std::exit(1);
  }
}

// ---- the level in use ----------------------------------------------------------------

// Whether the CPU (and, for AVX2, the OS) can run `level`; the dispatchers fall back
// below it otherwise, so only then must the cap be met exactly.
bool CpuHas(const std::string& level) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (level == "ssse3") return __builtin_cpu_supports("ssse3");
  if (level == "sse41") return __builtin_cpu_supports("sse4.1");
  if (level == "avx2") return __builtin_cpu_supports("avx2");
  return true;
#else
  return level == "scalar" || level == "portable";
#endif
}

void CheckLevel(const char* env, const char* active) {
  const char* want = std::getenv(env);
  std::printf("%s=%s: running %s\n", env, want ? want : "(unset)", active);
  if (want != nullptr && CpuHas(want) && std::strcmp(want, active) != 0) {
    // A CPU with AVX2 whose OS hides YMM state also falls back; say so rather than guess.
    Fail(std::string(env) + "=" + want + " but the dispatcher chose " + active);
  }
}

// ---- BLAKE3 test vectors -------------------------------------------------------------

std::string ReadFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path);
    std::exit(2);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The string value of the next `"name": "..."` at or after `pos` (the fixture has no
// escapes in its values); advances `pos` past it.
std::string StringField(const std::string& json, const std::string& name, size_t* pos) {
  const std::string tag = "\"" + name + "\"";
  size_t at = json.find(tag, *pos);
  if (at == std::string::npos) return std::string();
  size_t open = json.find('"', json.find(':', at + tag.size()) + 1);
  size_t close = json.find('"', open + 1);
  *pos = close + 1;
  return json.substr(open + 1, close - open - 1);
}

struct Vector {
  size_t input_len;
  std::string hash, keyed_hash, derive_key;
};

std::vector<Vector> ParseCases(const std::string& json) {
  std::vector<Vector> out;
  size_t pos = json.find("\"cases\"");
  while (pos != std::string::npos) {
    size_t at = json.find("\"input_len\"", pos);
    if (at == std::string::npos) break;
    Vector v;
    v.input_len = std::strtoull(json.c_str() + json.find(':', at) + 1, nullptr, 10);
    pos = at + 1;
    v.hash = StringField(json, "hash", &pos);
    v.keyed_hash = StringField(json, "keyed_hash", &pos);
    v.derive_key = StringField(json, "derive_key", &pos);
    out.push_back(v);
  }
  return out;
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

// Both the full extended output and its default-length prefix, hashed one-shot by
// `oneshot` and by a Hasher fed in pieces of 1, 2, 3, ... bytes.
template <typename OneShot>
void CheckMode(const char* mode, const Vector& v, const std::vector<uint8_t>& input, const std::string& want,
               OneShot oneshot, dfs::blake3::Hasher hasher) {
  const size_t n = want.size() / 2;
  std::vector<uint8_t> out(n);
  const std::string label = std::string(mode) + " of " + std::to_string(v.input_len) + " bytes";
  oneshot(out.data(), n);
  if (Hex(out.data(), n) != want) Fail(label + " (extended output)");
  oneshot(out.data(), dfs::blake3::kOutLen);
  if (Hex(out.data(), dfs::blake3::kOutLen) != want.substr(0, 2 * dfs::blake3::kOutLen)) Fail(label + " (32 bytes)");
  for (size_t at = 0, piece = 1; at < input.size(); at += piece, piece++) {
    hasher.Update(input.data() + at, std::min(piece, input.size() - at));
  }
  hasher.Finalize(out.data(), n);
  if (Hex(out.data(), n) != want) Fail(label + " (incremental)");
}

void TestBlake3(const char* fixture) {
  const std::string json = ReadFile(fixture);
  size_t pos = 0;
  const std::string key = StringField(json, "key", &pos);
  pos = 0;
  const std::string context = StringField(json, "context_string", &pos);
  const std::vector<Vector> cases = ParseCases(json);
  if (key.size() != dfs::blake3::kKeyLen || context.empty() || cases.size() < 30) {
    std::fprintf(stderr, "%s: expected a key of 32 bytes, a context and the test cases\n", fixture);
    std::exit(2);
  }
  const auto* k = reinterpret_cast<const uint8_t*>(key.data());
  for (const Vector& v : cases) {
    std::vector<uint8_t> input(v.input_len);
    for (size_t i = 0; i < input.size(); i++) input[i] = static_cast<uint8_t>(i % 251);
    CheckMode("hash", v, input, v.hash,
              [&](uint8_t* out, size_t n) { dfs::blake3::hash(input.data(), input.size(), out, n); },
              dfs::blake3::Hasher());
    CheckMode("keyed_hash", v, input, v.keyed_hash,
              [&](uint8_t* out, size_t n) { dfs::blake3::keyed_hash(k, input.data(), input.size(), out, n); },
              dfs::blake3::Hasher(k));
    CheckMode("derive_key", v, input, v.derive_key,
              [&](uint8_t* out, size_t n) {
                dfs::blake3::derive_key(context.data(), context.size(), input.data(), input.size(), out, n);
              },
              dfs::blake3::Hasher::DeriveKey(context.data(), context.size()));
  }
  std::printf("blake3: %zu test vectors, 3 modes each\n", cases.size());
}

// ---- Reed-Solomon --------------------------------------------------------------------

uint64_t rng_state = 0x9e3779b97f4a7c15ull;

uint8_t NextByte() {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return static_cast<uint8_t>(rng_state >> 24);
}

// Encode k data shards of `len` bytes, compare the parity with the GF(2^8) reference,
// then erase every subset of at most m shards (all of them when there are few, a
// sample otherwise) and reconstruct it.
void TestCodec(int k, int m, size_t len) {
  const std::string label = "rs " + std::to_string(k) + "+" + std::to_string(m) + " len " + std::to_string(len);
  std::unique_ptr<dfs::rs::Codec> codec;
  dfs::Status st = dfs::rs::Codec::Create(k, m, &codec);
  if (!st.ok()) return Fail(label + ": Create: " + st.message);
  const int n = k + m;
  std::vector<std::vector<uint8_t>> shards(n, std::vector<uint8_t>(len));
  for (int i = 0; i < k; i++) for (auto& b : shards[i]) b = NextByte();
  std::vector<const uint8_t*> data(k);
  std::vector<uint8_t*> parity(m);
  for (int i = 0; i < k; i++) data[i] = shards[i].data();
  for (int j = 0; j < m; j++) parity[j] = shards[k + j].data();
  codec->Encode(data.data(), parity.data(), len);

  for (int j = 0; j < m; j++) {
    const uint8_t* row = codec->matrix_row(k + j);
    for (size_t b = 0; b < len; b++) {
      uint8_t want = 0;
      for (int i = 0; i < k; i++) want ^= dfs::rs::gf_mul(row[i], shards[i][b]);
      if (shards[k + j][b] != want) return Fail(label + ": parity " + std::to_string(j) + " byte " + std::to_string(b));
    }
  }

  // Erasure patterns: bitmasks over n shards with 1..m bits set. Every one for n <= 12,
  // otherwise a deterministic sample (each mask tried is still checked exactly).
  const bool all = n <= 12;
  const int tries = all ? (1 << n) : 400;
  int checked = 0;
  for (int t = 0; t < tries; t++) {
    std::vector<int> lost;
    if (all) {
      for (int i = 0; i < n; i++) if (t & (1 << i)) lost.push_back(i);
    } else {
      const int count = 1 + NextByte() % m;
      while (static_cast<int>(lost.size()) < count) {
        int i = NextByte() % n;
        bool dup = false;
        for (int x : lost) dup |= x == i;
        if (!dup) lost.push_back(i);
      }
    }
    if (lost.empty() || static_cast<int>(lost.size()) > m) continue;
    std::vector<std::vector<uint8_t>> work = shards;
    std::vector<uint8_t*> ptrs(n);
    std::unique_ptr<bool[]> pres(new bool[n]);
    for (int i = 0; i < n; i++) {
      ptrs[i] = work[i].data();
      pres[i] = true;
    }
    for (int i : lost) {
      pres[i] = false;
      std::memset(work[i].data(), 0xA5, len);  // garbage where the lost shard was
    }
    st = codec->Reconstruct(ptrs.data(), pres.get(), lost.data(), static_cast<int>(lost.size()), len);
    if (!st.ok()) return Fail(label + ": Reconstruct: " + st.code + " " + st.message);
    for (int i : lost) {
      if (work[i] != shards[i]) return Fail(label + ": shard " + std::to_string(i) + " rebuilt wrong");
    }
    checked++;
  }
  if (checked == 0) Fail(label + ": no erasure pattern was checked");

  // One more erasure than the parity covers cannot be rebuilt.
  std::vector<uint8_t*> ptrs(n);
  std::unique_ptr<bool[]> pres(new bool[n]);
  std::vector<int> lost;
  for (int i = 0; i < n; i++) {
    ptrs[i] = shards[i].data();
    pres[i] = i > m;  // shards 0..m lost
    if (!pres[i]) lost.push_back(i);
  }
  std::vector<std::vector<uint8_t>> before = shards;
  st = codec->Reconstruct(ptrs.data(), pres.get(), lost.data(), static_cast<int>(lost.size()), len);
  if (st.code != "ETOOMANYLOST") Fail(label + ": " + std::to_string(m + 1) + " lost gave " + st.code + ", not ETOOMANYLOST");
  if (shards != before) Fail(label + ": a refused reconstruct wrote to the shards");
}

void TestRs() {
  const int configs[][2] = {{1, 1}, {2, 1}, {4, 2}, {6, 3}, {8, 4}, {10, 4}, {17, 3}, {32, 32}};
  // Lengths around the kernels' vector widths (16, 32, 64 bytes) and a fragment-sized one.
  const size_t lengths[] = {1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 4096 + 7, 65536};
  int runs = 0;
  for (const auto& c : configs) {
    for (size_t len : lengths) {
      if (c[0] + c[1] > 12 && len > 4096 + 7) continue;  // keep the wide codecs quick
      TestCodec(c[0], c[1], len);
      runs++;
    }
  }
  std::printf("rs: %d codec/length combinations, every erasure pattern up to m (sampled above 12 shards)\n", runs);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PATH/TO/blake3_test_vectors.json\n", argv[0]);
    return 2;
  }
  CheckLevel("DYNAMICFS_RS_ISA", dfs::rs::isa_name(dfs::rs::active_isa()));
  CheckLevel("DYNAMICFS_BLAKE3_ISA", dfs::blake3::isa_name(dfs::blake3::active_isa()));
  TestBlake3(argv[1]);
  TestRs();
  if (failures > 0) {
    std::fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  std::printf("ok\n");
  return 0;
}
