// promise_worker.h — one base class for every asynchronous addon call.
// Inputs are copied into plain members (and input Buffers kept alive by references)
// on the JS thread; Run() is pure C++ on the libuv pool and never touches N-API;
// Resolve() builds the JS result back on the JS thread.
#pragma once
#include <napi.h>

#include <vector>

#include "dfs/status.h"
#include "errors.h"

namespace dfs::binding {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}

  // Queue the work and hand back its promise.
  Napi::Promise Start() {
    Napi::Promise p = deferred_.Promise();
    Queue();
    return p;
  }

  // Keep an input buffer alive (and unmoved) until the work is done.
  void Hold(const Napi::Value& v) { held_.push_back(Napi::Persistent(v.As<Napi::Object>())); }

 protected:
  virtual Status Run() = 0;
  virtual Napi::Value Resolve(Napi::Env env) = 0;

 private:
  void Execute() override { status_ = Run(); }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (status_.ok()) {
      deferred_.Resolve(Resolve(env));
    } else {
      deferred_.Reject(StatusError(env, status_).Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

  Status status_;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> held_;
};

}  // namespace dfs::binding
