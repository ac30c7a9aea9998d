// errors.cc — Status → JS Error, and typed argument checks shared by the bindings.
#include "errors.h"

namespace dfs::binding {

Napi::Error StatusError(Napi::Env env, const Status& s) {
  Napi::Error err = Napi::Error::New(env, s.message.empty() ? s.code : s.message);
  err.Set("code", Napi::String::New(env, s.code));
  if (!s.path.empty()) err.Set("path", Napi::String::New(env, s.path));
  if (s.sys_errno != 0) err.Set("errno", Napi::Number::New(env, s.sys_errno));
  return err;
}

void ThrowInvalid(Napi::Env env, const std::string& message) {
  throw StatusError(env, Status::Error("EINVAL", message));
}

Napi::Uint8Array ArgBytes(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowInvalid(env, what + " must be a Buffer or Uint8Array");
  }
  return v.As<Napi::Uint8Array>();
}

ByteSpan ArgSpan(Napi::Env env, const Napi::Value& v, const char* what) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &offset) != napi_ok ||
      type != napi_uint8_array) {
    // Not a typed array: napi_get_typedarray_info left a pending "invalid arg" status only.
    ThrowInvalid(env, std::string(what) + " must be a Buffer or Uint8Array");
  }
  return ByteSpan{static_cast<uint8_t*>(data), length};
}

ByteSpan ArgSpan(Napi::Env env, const Napi::Value& v, const std::string& what) {
  return ArgSpan(env, v, what.c_str());
}

int ArgInt(Napi::Env env, const Napi::Value& v, const std::string& what, int lo, int hi) {
  if (!v.IsNumber()) ThrowInvalid(env, what + " must be an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<long long>(d)) || d < lo || d > hi) {
    ThrowInvalid(env, what + " must be an integer from " + std::to_string(lo) + " to " +
                          std::to_string(hi) + ", got " + v.ToString().Utf8Value());
  }
  return static_cast<int>(d);
}

}  // namespace dfs::binding
