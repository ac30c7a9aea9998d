// blake3_binding.cc — N-API surface of BLAKE3: one-shot functions and a Hasher class.
#include <string>

#include "dfs/blake3.h"
#include "errors.h"
#include "promise_worker.h"

namespace dfs::binding {
namespace {

constexpr int kMaxOut = 1 << 24;  // 16 MiB of extended output per call is plenty

size_t OutLen(Napi::Env env, const Napi::Value& v) {
  if (v.IsUndefined()) return blake3::kOutLen;
  return static_cast<size_t>(ArgInt(env, v, "outLen", 0, kMaxOut));
}

// blake3(data, outLen?) → Buffer
Napi::Value Hash(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteSpan data = ArgSpan(env, info[0], "data");
  size_t n = OutLen(env, info[1]);
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, n);
  blake3::hash(data.data, data.len, out.Data(), n);
  return out;
}

// blake3Into(data, out, offset = 0): the 32-byte hash written into out[offset..offset+32).
// No allocation, so hashing many small buffers costs the kernel and little else.
Napi::Value HashInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteSpan data = ArgSpan(env, info[0], "data");
  ByteSpan out = ArgSpan(env, info[1], "out");
  size_t off = info.Length() < 3 || info[2].IsUndefined() ? 0 : static_cast<size_t>(ArgInt(env, info[2], "offset", 0, 1 << 30));
  if (off + blake3::kOutLen > out.len) {
    ThrowInvalid(env, "out has no room for 32 bytes at offset " + std::to_string(off));
  }
  blake3::hash(data.data, data.len, out.data + off, blake3::kOutLen);
  return env.Undefined();
}

Napi::Uint8Array KeyArg(Napi::Env env, const Napi::Value& v) {
  Napi::Uint8Array key = ArgBytes(env, v, "key");
  if (key.ByteLength() != blake3::kKeyLen) ThrowInvalid(env, "key must be exactly 32 bytes");
  return key;
}

// blake3Keyed(key32, data, outLen?) → Buffer
Napi::Value Keyed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array key = KeyArg(env, info[0]);
  Napi::Uint8Array data = ArgBytes(env, info[1], "data");
  size_t n = OutLen(env, info[2]);
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, n);
  blake3::keyed_hash(key.Data(), data.Data(), data.ByteLength(), out.Data(), n);
  return out;
}

// blake3DeriveKey(context: string, material, outLen?) → Buffer
Napi::Value DeriveKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowInvalid(env, "context must be a string");
  std::string ctx = info[0].As<Napi::String>().Utf8Value();
  Napi::Uint8Array material = ArgBytes(env, info[1], "material");
  size_t n = OutLen(env, info[2]);
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, n);
  blake3::derive_key(ctx.data(), ctx.size(), material.Data(), material.ByteLength(), out.Data(), n);
  return out;
}

// Hashes large buffers on the libuv pool so the coordinator's event loop keeps moving.
class HashWorker : public PromiseWorker {
 public:
  HashWorker(Napi::Env env, Napi::Uint8Array data)
      : PromiseWorker(env), data_(data.Data()), len_(data.ByteLength()) {
    Hold(data);
  }

 protected:
  Status Run() override {
    blake3::hash(data_, len_, out_, sizeof out_);
    return Status::Ok();
  }
  Napi::Value Resolve(Napi::Env env) override {
    return Napi::Buffer<uint8_t>::Copy(env, out_, sizeof out_);
  }

 private:
  const uint8_t* data_;
  size_t len_;
  uint8_t out_[blake3::kOutLen];
};

// blake3Async(data) → Promise<Buffer(32)>
Napi::Value HashAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return (new HashWorker(env, ArgBytes(env, info[0], "data")))->Start();
}

Napi::Value Isa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), blake3::isa_name(blake3::active_isa()));
}

// new Blake3Hasher(options?: { key?: Uint8Array, context?: string })
class HasherWrap : public Napi::ObjectWrap<HasherWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Blake3Hasher",
                       {InstanceMethod("update", &HasherWrap::Update),
                        InstanceMethod("digest", &HasherWrap::Digest),
                        InstanceMethod("reset", &HasherWrap::Reset)});
  }

  explicit HasherWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HasherWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() == 0 || info[0].IsUndefined()) return;
    if (!info[0].IsObject()) ThrowInvalid(env, "Blake3Hasher options must be an object");
    Napi::Object o = info[0].As<Napi::Object>();
    Napi::Value key = o.Get("key"), ctx = o.Get("context");
    if (!key.IsUndefined() && !ctx.IsUndefined()) {
      ThrowInvalid(env, "Blake3Hasher takes key or context, not both");
    }
    if (!key.IsUndefined()) {
      hasher_ = blake3::Hasher(KeyArg(env, key).Data());
    } else if (!ctx.IsUndefined()) {
      if (!ctx.IsString()) ThrowInvalid(env, "context must be a string");
      std::string c = ctx.As<Napi::String>().Utf8Value();
      hasher_ = blake3::Hasher::DeriveKey(c.data(), c.size());
    }
  }

 private:
  Napi::Value Update(const Napi::CallbackInfo& info) {
    Napi::Uint8Array data = ArgBytes(info.Env(), info[0], "data");
    hasher_.Update(data.Data(), data.ByteLength());
    return info.This();
  }
  // digest(outLen = 32, seek = 0): does not change the state, so it may be called again.
  Napi::Value Digest(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    size_t n = OutLen(env, info[0]);
    double seek = 0;
    if (!info[1].IsUndefined()) {
      if (!info[1].IsNumber() || info[1].As<Napi::Number>().DoubleValue() < 0) {
        ThrowInvalid(env, "seek must be a non-negative integer");
      }
      seek = info[1].As<Napi::Number>().DoubleValue();
    }
    Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, n);
    hasher_.Finalize(out.Data(), n, static_cast<uint64_t>(seek));
    return out;
  }
  Napi::Value Reset(const Napi::CallbackInfo& info) {
    hasher_.Reset();
    return info.This();
  }

  blake3::Hasher hasher_;
};

}  // namespace

void InitBlake3(Napi::Env env, Napi::Object exports) {
  exports.Set("blake3", Napi::Function::New(env, Hash, "blake3"));
  exports.Set("blake3Into", Napi::Function::New(env, HashInto, "blake3Into"));
  exports.Set("blake3Keyed", Napi::Function::New(env, Keyed, "blake3Keyed"));
  exports.Set("blake3DeriveKey", Napi::Function::New(env, DeriveKey, "blake3DeriveKey"));
  exports.Set("blake3Async", Napi::Function::New(env, HashAsync, "blake3Async"));
  exports.Set("blake3Isa", Napi::Function::New(env, Isa, "blake3Isa"));
  exports.Set("Blake3Hasher", HasherWrap::Define(env));
}

}  // namespace dfs::binding
