// peer_binding.cc — N-API surface of dfs/peer_cred.h.
#include "dfs/peer_cred.h"
#include "errors.h"

namespace dfs::binding {
namespace {

// peerCredentials(fd) → {pid, uid, gid}; throws (ENOTSOCK, EBADF...) for anything but a connected Unix socket.
Napi::Value Credentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(env, info[0], "fd", 0, 1 << 30);
  peer::Credentials c;
  Status s = peer::Read(fd, &c);
  if (!s.ok()) throw StatusError(env, s);
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", Napi::Number::New(env, static_cast<double>(c.pid)));
  o.Set("uid", Napi::Number::New(env, static_cast<double>(c.uid)));
  o.Set("gid", Napi::Number::New(env, static_cast<double>(c.gid)));
  return o;
}

}  // namespace

void InitPeer(Napi::Env env, Napi::Object exports) {
  exports.Set("peerCredentials", Napi::Function::New(env, Credentials, "peerCredentials"));
}

}  // namespace dfs::binding
