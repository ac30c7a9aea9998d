// local_fs_binding.cc — N-API surface of dfs/local_fs.h (synchronous: single system calls).
#include "dfs/local_fs.h"
#include "errors.h"

namespace dfs::binding {
namespace {

std::string ArgString(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsString()) ThrowInvalid(env, std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// lsetxattr(path, name, value): throws with the errno's code (ENOTSUP, EPERM, ...).
Napi::Value SetXattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(env, info[0], "path");
  std::string name = ArgString(env, info[1], "name");
  ByteSpan value = ArgSpan(env, info[2], "value");
  Status s = localfs::SetXattr(path, name, value.data, value.len);
  if (!s.ok()) throw StatusError(env, s);
  return env.Undefined();
}

// mknod(path, mode, dev): mode and dev as stat reports them (st_mode, st_rdev).
Napi::Value MakeNode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(env, info[0], "path");
  if (!info[1].IsNumber() || !info[2].IsNumber()) ThrowInvalid(env, "mode and dev must be numbers");
  double mode = info[1].As<Napi::Number>().DoubleValue();
  double dev = info[2].As<Napi::Number>().DoubleValue();
  if (mode < 0 || mode > 0xffffffff || dev < 0 || dev > 9007199254740991.0) ThrowInvalid(env, "mode or dev out of range");
  Status s = localfs::MakeNode(path, static_cast<uint32_t>(mode), static_cast<uint64_t>(dev));
  if (!s.ok()) throw StatusError(env, s);
  return env.Undefined();
}

// utimens(path, fd, atimeSec, atimeNsec, mtimeSec, mtimeNsec): fd >= 0 sets the open file's
// times (path names it in errors), fd -1 the path's (a final symlink itself).
Napi::Value SetTimes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(env, info[0], "path");
  int fd = ArgInt(env, info[1], "fd", -1, 1 << 30);
  double v[4];
  for (int i = 0; i < 4; i++) {
    if (!info[2 + i].IsNumber()) ThrowInvalid(env, "times must be numbers");
    v[i] = info[2 + i].As<Napi::Number>().DoubleValue();
  }
  if (v[1] < 0 || v[1] >= 1e9 || v[3] < 0 || v[3] >= 1e9) ThrowInvalid(env, "nanoseconds must be 0 to 999999999");
  Status s = localfs::SetTimes(path, fd, static_cast<int64_t>(v[0]), static_cast<long>(v[1]), static_cast<int64_t>(v[2]), static_cast<long>(v[3]));
  if (!s.ok()) throw StatusError(env, s);
  return env.Undefined();
}

}  // namespace

void InitLocalFs(Napi::Env env, Napi::Object exports) {
  exports.Set("lsetxattr", Napi::Function::New(env, SetXattr, "lsetxattr"));
  exports.Set("mknod", Napi::Function::New(env, MakeNode, "mknod"));
  exports.Set("utimens", Napi::Function::New(env, SetTimes, "utimens"));
}

}  // namespace dfs::binding
