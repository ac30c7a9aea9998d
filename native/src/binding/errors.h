// errors.h — turning a kernel Status into a JS Error with a stable `code`.
#pragma once
#include <napi.h>

#include "dfs/status.h"

namespace dfs::binding {

// A JS Error carrying code, path (if any) and errno (if any).
Napi::Error StatusError(Napi::Env env, const Status& s);

// Throw an argument error (code EINVAL) naming the argument and what was expected.
[[noreturn]] void ThrowInvalid(Napi::Env env, const std::string& message);

// Argument helpers: each throws EINVAL naming `what` when the value has the wrong type.
Napi::Uint8Array ArgBytes(Napi::Env env, const Napi::Value& v, const std::string& what);
// A Uint8Array's bytes, read with ONE N-API call (the hot paths hash 4 KiB buffers,
// where the three calls of IsTypedArray/TypedArrayType/As cost ~10% of the work).
struct ByteSpan {
  uint8_t* data;
  size_t len;
};
ByteSpan ArgSpan(Napi::Env env, const Napi::Value& v, const std::string& what);
ByteSpan ArgSpan(Napi::Env env, const Napi::Value& v, const char* what);

int ArgInt(Napi::Env env, const Napi::Value& v, const std::string& what, int lo, int hi);

}  // namespace dfs::binding
