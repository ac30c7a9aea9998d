// rs_binding.cc — N-API surface of the Reed-Solomon codec.
// Calls are synchronous: they run inside Piscina encode/scrub workers (never on the
// coordinator's main thread for large buffers), so a promise would only add latency.
#include <map>
#include <mutex>
#include <vector>

#include "dfs/rs.h"
#include "errors.h"
#include "promise_worker.h"

namespace dfs::binding {
namespace {

// Codecs are immutable once built; share one per (k, m) across all threads.
const rs::Codec& CodecFor(Napi::Env env, int k, int m) {
  static std::mutex mu;
  static std::map<std::pair<int, int>, std::unique_ptr<rs::Codec>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[{k, m}];
  if (!slot) {
    Status s = rs::Codec::Create(k, m, &slot);
    if (!s.ok()) {
      cache.erase({k, m});
      throw StatusError(env, s);
    }
  }
  return *slot;
}

// Collects an array of equal-length byte buffers; nulls allowed when allow_null.
size_t CollectShards(Napi::Env env, const Napi::Value& v, const std::string& what,
                     size_t expect_count, bool allow_null, std::vector<uint8_t*>* ptrs,
                     std::vector<bool>* present) {
  if (!v.IsArray()) ThrowInvalid(env, what + " must be an array of Buffers");
  Napi::Array arr = v.As<Napi::Array>();
  if (arr.Length() != expect_count) {
    ThrowInvalid(env, what + " must hold " + std::to_string(expect_count) + " buffers, got " +
                          std::to_string(arr.Length()));
  }
  size_t len = SIZE_MAX;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value e = arr.Get(i);
    if (allow_null && (e.IsNull() || e.IsUndefined())) {
      ptrs->push_back(nullptr);
      present->push_back(false);
      continue;
    }
    ByteSpan b = ArgSpan(env, e, what + "[" + std::to_string(i) + "]");
    if (len == SIZE_MAX) {
      len = b.len;
    } else if (b.len != len) {
      ThrowInvalid(env, what + "[" + std::to_string(i) + "] is " + std::to_string(b.len) +
                            " bytes but the others are " + std::to_string(len) +
                            ": all shards must have the same length");
    }
    ptrs->push_back(b.data);
    present->push_back(true);
  }
  return len == SIZE_MAX ? 0 : len;
}

// rsEncode(k, m, data: Uint8Array[k], parity: Uint8Array[m]) — fills parity.
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int k = ArgInt(env, info[0], "k", 1, rs::kMaxShards);
  int m = ArgInt(env, info[1], "m", 0, rs::kMaxParity);
  std::vector<uint8_t*> data, parity;
  std::vector<bool> p1, p2;
  size_t dl = CollectShards(env, info[2], "data", k, false, &data, &p1);
  size_t pl = CollectShards(env, info[3], "parity", m, false, &parity, &p2);
  if (m > 0 && dl != pl) {
    ThrowInvalid(env, "parity buffers are " + std::to_string(pl) + " bytes but data buffers are " +
                          std::to_string(dl) + ": all shards must have the same length");
  }
  const rs::Codec& codec = CodecFor(env, k, m);
  if (m > 0) codec.Encode(data.data(), parity.data(), dl);
  return env.Undefined();
}

// Arguments of a reconstruction, checked on the JS thread.
struct ReconstructArgs {
  int k = 0, m = 0;
  size_t len = 0;
  std::vector<uint8_t*> shards;
  std::unique_ptr<bool[]> present;
  std::vector<int> targets;
};

// shards: (Uint8Array|null)[k+m]; targets: indices whose buffers receive output. The
// present shards are the non-null, non-target ones.
ReconstructArgs ParseReconstruct(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReconstructArgs a;
  a.k = ArgInt(env, info[0], "k", 1, rs::kMaxShards);
  a.m = ArgInt(env, info[1], "m", 0, rs::kMaxParity);
  std::vector<bool> present;
  a.len = CollectShards(env, info[2], "shards", a.k + a.m, true, &a.shards, &present);
  if (!info[3].IsArray()) ThrowInvalid(env, "targets must be an array of shard indices");
  Napi::Array t = info[3].As<Napi::Array>();
  for (uint32_t i = 0; i < t.Length(); i++) {
    int idx = ArgInt(env, t.Get(i), "targets[" + std::to_string(i) + "]", 0, a.k + a.m - 1);
    if (!present[idx]) {
      ThrowInvalid(env, "target shard " + std::to_string(idx) + " needs an output buffer");
    }
    present[idx] = false;
    a.targets.push_back(idx);
  }
  a.present.reset(new bool[a.k + a.m]);
  for (int i = 0; i < a.k + a.m; i++) a.present[i] = present[i];
  return a;
}

Status RunReconstruct(const rs::Codec& codec, ReconstructArgs& a) {
  return codec.Reconstruct(a.shards.data(), a.present.get(), a.targets.data(),
                           static_cast<int>(a.targets.size()), a.len);
}

// rsReconstruct(k, m, shards, targets) — synchronous, for workers.
Napi::Value Reconstruct(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReconstructArgs a = ParseReconstruct(info);
  Status s = RunReconstruct(CodecFor(env, a.k, a.m), a);
  if (!s.ok()) throw StatusError(env, s);
  return env.Undefined();
}

class ReconstructWorker : public PromiseWorker {
 public:
  ReconstructWorker(Napi::Env env, ReconstructArgs a, const rs::Codec& codec)
      : PromiseWorker(env), args_(std::move(a)), codec_(codec) {}

 protected:
  Status Run() override { return RunReconstruct(codec_, args_); }
  Napi::Value Resolve(Napi::Env env) override { return env.Undefined(); }

 private:
  ReconstructArgs args_;
  const rs::Codec& codec_;
};

// rsReconstructAsync(k, m, shards, targets) → Promise<void>, on the libuv pool (the
// coordinator's degraded reads).
Napi::Value ReconstructAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReconstructArgs a = ParseReconstruct(info);
  const rs::Codec& codec = CodecFor(env, a.k, a.m);
  auto* w = new ReconstructWorker(env, std::move(a), codec);
  w->Hold(info[2]);
  return w->Start();
}

Napi::Value Isa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), rs::isa_name(rs::active_isa()));
}

}  // namespace

void InitRs(Napi::Env env, Napi::Object exports) {
  exports.Set("rsEncode", Napi::Function::New(env, Encode, "rsEncode"));
  exports.Set("rsReconstruct", Napi::Function::New(env, Reconstruct, "rsReconstruct"));
  exports.Set("rsReconstructAsync",
              Napi::Function::New(env, ReconstructAsync, "rsReconstructAsync"));
  exports.Set("rsIsa", Napi::Function::New(env, Isa, "rsIsa"));
}

}  // namespace dfs::binding
