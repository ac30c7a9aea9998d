// addon.cc — module entry: registers each area's functions. The kernels behind them
// live in native/src/kernels and know nothing of N-API.
#include <napi.h>

namespace dfs::binding {
void InitRs(Napi::Env env, Napi::Object exports);
void InitBlake3(Napi::Env env, Napi::Object exports);
void InitFrag(Napi::Env env, Napi::Object exports);
void InitLock(Napi::Env env, Napi::Object exports);
void InitLog(Napi::Env env, Napi::Object exports);
void InitPeer(Napi::Env env, Napi::Object exports);
void InitLocalFs(Napi::Env env, Napi::Object exports);

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitRs(env, exports);
  InitBlake3(env, exports);
  InitFrag(env, exports);
  InitLock(env, exports);
  InitLog(env, exports);
  InitPeer(env, exports);
  InitLocalFs(env, exports);
  exports.Set("formatVersion", Napi::Number::New(env, 1));
  return exports;
}
}  // namespace dfs::binding

// The macro pastes the function name into identifiers, so it needs an unqualified one.
static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return dfs::binding::Init(env, exports);
}
NODE_API_MODULE(dynamicfs_native, InitModule)
