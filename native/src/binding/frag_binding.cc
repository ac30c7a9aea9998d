// frag_binding.cc — N-API surface of fragment I/O. Every call that touches a disk is
// asynchronous (libuv pool), so the coordinator's event loop never waits on a disk.
#include <cstring>
#include <string>

#include "dfs/frag_io.h"
#include "promise_worker.h"

namespace dfs::binding {
namespace {

void CopyFixed(Napi::Env env, Napi::Object o, const char* name, uint8_t* dst, size_t n) {
  Napi::Uint8Array b = ArgBytes(env, o.Get(name), std::string("header.") + name);
  if (b.ByteLength() != n) {
    ThrowInvalid(env, std::string("header.") + name + " must be exactly " + std::to_string(n) +
                          " bytes");
  }
  std::memcpy(dst, b.Data(), n);
}

frag::Header HeaderArg(Napi::Env env, const Napi::Value& v, size_t payload_len) {
  if (!v.IsObject()) ThrowInvalid(env, "header must be an object");
  Napi::Object o = v.As<Napi::Object>();
  frag::Header h;
  CopyFixed(env, o, "poolUuid", h.pool_uuid, 16);
  CopyFixed(env, o, "extentId", h.extent_id, 16);
  CopyFixed(env, o, "payloadHash", h.payload_hash, 32);
  h.k = static_cast<uint8_t>(ArgInt(env, o.Get("k"), "header.k", 1, 255));
  h.m = static_cast<uint8_t>(ArgInt(env, o.Get("m"), "header.m", 0, 255));
  h.index = static_cast<uint16_t>(ArgInt(env, o.Get("index"), "header.index", 0, h.k + h.m - 1));
  h.scheme = static_cast<frag::Scheme>(ArgInt(env, o.Get("scheme"), "header.scheme", 0, 1));
  h.payload_len = payload_len;
  return h;
}

Napi::Object HeaderValue(Napi::Env env, const frag::Header& h) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("poolUuid", Napi::Buffer<uint8_t>::Copy(env, h.pool_uuid, 16));
  o.Set("extentId", Napi::Buffer<uint8_t>::Copy(env, h.extent_id, 16));
  o.Set("index", h.index);
  o.Set("k", h.k);
  o.Set("m", h.m);
  o.Set("scheme", static_cast<int>(h.scheme));
  o.Set("payloadLength", static_cast<double>(h.payload_len));
  o.Set("payloadHash", Napi::Buffer<uint8_t>::Copy(env, h.payload_hash, 32));
  return o;
}

std::string StringArg(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsString()) ThrowInvalid(env, std::string(what) + " must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.empty()) ThrowInvalid(env, std::string(what) + " must not be empty");
  return s;
}

class WriteWorker : public PromiseWorker {
 public:
  WriteWorker(Napi::Env env, std::string root, frag::Header h, Napi::Uint8Array payload, bool sync)
      : PromiseWorker(env), root_(std::move(root)), header_(h), data_(payload.Data()), sync_(sync) {
    Hold(payload);
  }

 protected:
  Status Run() override { return frag::WriteFragment(root_, header_, data_, &result_, sync_); }
  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("direct", result_.direct);
    o.Set("fileBytes", static_cast<double>(result_.file_bytes));
    o.Set("path", result_.path);
    return o;
  }

 private:
  std::string root_;
  frag::Header header_;
  const uint8_t* data_;
  bool sync_;
  frag::WriteResult result_;
};

// fragWrite(diskRoot, header, payload, sync = true) → Promise<{ direct, fileBytes, path }>
Napi::Value Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string root = StringArg(env, info[0], "diskRoot");
  Napi::Uint8Array payload = ArgBytes(env, info[2], "payload");
  frag::Header h = HeaderArg(env, info[1], payload.ByteLength());
  if (info.Length() > 3 && !info[3].IsUndefined() && !info[3].IsBoolean()) ThrowInvalid(env, "sync must be a boolean");
  bool sync = info.Length() <= 3 || info[3].IsUndefined() || info[3].As<Napi::Boolean>().Value();
  return (new WriteWorker(env, std::move(root), h, payload, sync))->Start();
}

class SyncWorker : public PromiseWorker {
 public:
  SyncWorker(Napi::Env env, std::string root) : PromiseWorker(env), root_(std::move(root)) {}

 protected:
  Status Run() override { return frag::SyncDisk(root_); }
  Napi::Value Resolve(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string root_;
};

// diskSync(diskRoot) → Promise<void>: syncfs on the disk's filesystem.
Napi::Value DiskSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return (new SyncWorker(env, StringArg(env, info[0], "diskRoot")))->Start();
}

class ReadWorker : public PromiseWorker {
 public:
  ReadWorker(Napi::Env env, std::string path, bool header_only, const uint8_t* expected)
      : PromiseWorker(env), path_(std::move(path)), header_only_(header_only) {
    if (expected) {
      has_expected_ = true;
      std::memcpy(expected_, expected, 32);
    }
  }
  ~ReadWorker() override {
    if (result_.block) frag::FreeBlock(result_.block);
  }

 protected:
  Status Run() override {
    if (header_only_) return frag::ReadHeader(path_, &result_.header);
    return frag::ReadFragment(path_, has_expected_ ? expected_ : nullptr, &result_);
  }
  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object header = HeaderValue(env, result_.header);
    if (header_only_) return header;
    Napi::Object o = Napi::Object::New(env);
    o.Set("header", header);
    // Hand the aligned block to JS without a copy; the finalizer frees it.
    uint8_t* block = result_.block;
    result_.block = nullptr;
    o.Set("payload", Napi::Buffer<uint8_t>::New(
                         env, block + frag::kHeaderLen, result_.header.payload_len,
                         [block](Napi::Env, uint8_t*) { frag::FreeBlock(block); }));
    return o;
  }

 private:
  std::string path_;
  bool header_only_;
  bool has_expected_ = false;
  uint8_t expected_[32] = {};
  frag::ReadResult result_;
};

// fragRead(path, expectedHash?) → Promise<{ header, payload }>
Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(env, info[0], "path");
  const uint8_t* expected = nullptr;
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
    Napi::Uint8Array e = ArgBytes(env, info[1], "expectedHash");
    if (e.ByteLength() != 32) ThrowInvalid(env, "expectedHash must be exactly 32 bytes");
    expected = e.Data();
  }
  return (new ReadWorker(env, std::move(path), false, expected))->Start();
}

class CopyWorker : public PromiseWorker {
 public:
  CopyWorker(Napi::Env env, std::string path, const uint8_t* expected, const uint8_t* extent_id, uint16_t index,
             int fd, uint64_t offset, uint64_t take)
      : PromiseWorker(env), path_(std::move(path)), index_(index), fd_(fd), offset_(offset), take_(take) {
    std::memcpy(expected_, expected, 32);
    std::memcpy(extent_id_, extent_id, 16);
  }

 protected:
  Status Run() override {
    return frag::CopyFragment(path_, expected_, extent_id_, index_, fd_, offset_, take_, &payload_len_);
  }
  Napi::Value Resolve(Napi::Env env) override { return Napi::Number::New(env, double(payload_len_)); }

 private:
  std::string path_;
  uint8_t expected_[32];
  uint8_t extent_id_[16];
  uint16_t index_;
  int fd_;
  uint64_t offset_;
  uint64_t take_;
  uint64_t payload_len_ = 0;
};

// fragCopyTo(path, expectedHash, extentId, index, fd, offset, length) → Promise<payloadLength>
Napi::Value CopyTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(env, info[0], "path");
  Napi::Uint8Array expected = ArgBytes(env, info[1], "expectedHash");
  if (expected.ByteLength() != 32) ThrowInvalid(env, "expectedHash must be exactly 32 bytes");
  Napi::Uint8Array id = ArgBytes(env, info[2], "extentId");
  if (id.ByteLength() != 16) ThrowInvalid(env, "extentId must be exactly 16 bytes");
  int index = ArgInt(env, info[3], "index", 0, 65535);
  int fd = ArgInt(env, info[4], "fd", 0, 0x7fffffff);
  if (!info[5].IsNumber() || !info[6].IsNumber()) ThrowInvalid(env, "offset and length must be numbers");
  double offset = info[5].As<Napi::Number>().DoubleValue(), length = info[6].As<Napi::Number>().DoubleValue();
  if (!(offset >= 0 && offset <= 9007199254740991.0 && offset == double(uint64_t(offset)))) ThrowInvalid(env, "offset must be a whole number of bytes");
  if (!(length >= 0 && length <= 9007199254740991.0 && length == double(uint64_t(length)))) ThrowInvalid(env, "length must be a whole number of bytes");
  return (new CopyWorker(env, std::move(path), expected.Data(), id.Data(), uint16_t(index), fd, uint64_t(offset),
                         uint64_t(length)))->Start();
}

// fragReadHeader(path) → Promise<header>
Napi::Value ReadHeader(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return (new ReadWorker(env, StringArg(env, info[0], "path"), true, nullptr))->Start();
}

// fragRelativePath(extentId, index) → "frags/ab/cd/<hex>.<index>"
Napi::Value RelPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array id = ArgBytes(env, info[0], "extentId");
  if (id.ByteLength() != 16) ThrowInvalid(env, "extentId must be exactly 16 bytes");
  int index = ArgInt(env, info[1], "index", 0, 65535);
  return Napi::String::New(env, frag::RelativePath(id.Data(), static_cast<uint16_t>(index)));
}

Napi::Value DirectDisabled(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Napi::Boolean::New(env, frag::DirectDisabled(StringArg(env, info[0], "diskRoot")));
}

}  // namespace

void InitFrag(Napi::Env env, Napi::Object exports) {
  exports.Set("fragWrite", Napi::Function::New(env, Write, "fragWrite"));
  exports.Set("diskSync", Napi::Function::New(env, DiskSync, "diskSync"));
  exports.Set("fragRead", Napi::Function::New(env, Read, "fragRead"));
  exports.Set("fragReadHeader", Napi::Function::New(env, ReadHeader, "fragReadHeader"));
  exports.Set("fragCopyTo", Napi::Function::New(env, CopyTo, "fragCopyTo"));
  exports.Set("fragRelativePath", Napi::Function::New(env, RelPath, "fragRelativePath"));
  exports.Set("fragDirectDisabled", Napi::Function::New(env, DirectDisabled, "fragDirectDisabled"));
  exports.Set("fragHeaderBytes", Napi::Number::New(env, frag::kHeaderLen));
}

}  // namespace dfs::binding
