// lock_binding.cc — N-API surface of the pool lock. flock with LOCK_NB never waits,
// so these calls are synchronous.
#include "dfs/file_lock.h"
#include "errors.h"

namespace dfs::binding {
namespace {

// lockAcquire(path) → fd; throws code EBUSY when another process holds it.
Napi::Value Acquire(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowInvalid(env, "path must be a string");
  int fd = -1;
  Status s = lock::Acquire(info[0].As<Napi::String>().Utf8Value(), &fd);
  if (!s.ok()) throw StatusError(env, s);
  return Napi::Number::New(env, fd);
}

Napi::Value Release(const Napi::CallbackInfo& info) {
  lock::Release(ArgInt(info.Env(), info[0], "fd", 0, 1 << 30));
  return info.Env().Undefined();
}

}  // namespace

void InitLock(Napi::Env env, Napi::Object exports) {
  exports.Set("lockAcquire", Napi::Function::New(env, Acquire, "lockAcquire"));
  exports.Set("lockRelease", Napi::Function::New(env, Release, "lockRelease"));
}

}  // namespace dfs::binding
