// log_binding.cc — N-API surface of the logs' durable positional write (dfs/log_io.h).
#include <string>

#include "dfs/log_io.h"
#include "promise_worker.h"

namespace dfs::binding {
namespace {

class WriteAtWorker : public PromiseWorker {
 public:
  WriteAtWorker(Napi::Env env, int fd, std::string path, uint64_t offset, Napi::Uint8Array data, size_t zeros, bool sync)
      : PromiseWorker(env), fd_(fd), path_(std::move(path)), offset_(offset), data_(data.Data()), len_(data.ByteLength()),
        zeros_(zeros), sync_(sync) {
    Hold(data);
  }

 protected:
  Status Run() override { return logio::WriteAt(fd_, path_, offset_, data_, len_, zeros_, sync_, &result_); }
  Napi::Value Resolve(Napi::Env env) override { return Napi::Number::New(env, static_cast<double>(result_.nlink)); }

 private:
  int fd_;
  std::string path_;
  uint64_t offset_;
  const uint8_t* data_;
  size_t len_;
  size_t zeros_;
  bool sync_;
  logio::WriteAtResult result_;
};

// logWriteAt(fd, path, offset, data, zerosAfter, sync) → Promise<nlink>. fd -1: open path.
Napi::Value WriteAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt(env, info[0], "fd", -1, 1 << 30);
  if (!info[1].IsString()) ThrowInvalid(env, "path must be a string");
  std::string path = info[1].As<Napi::String>().Utf8Value();
  if (path.empty()) ThrowInvalid(env, "path must not be empty");
  if (!info[2].IsNumber()) ThrowInvalid(env, "offset must be a number");
  double offset = info[2].As<Napi::Number>().DoubleValue();
  if (!(offset >= 0 && offset <= 9007199254740991.0) || offset != static_cast<double>(static_cast<uint64_t>(offset)))
    ThrowInvalid(env, "offset must be a non-negative integer");
  Napi::Uint8Array data = ArgBytes(env, info[3], "data");
  int zeros = ArgInt(env, info[4], "zerosAfter", 0, 1 << 30);
  if (!info[5].IsBoolean()) ThrowInvalid(env, "sync must be a boolean");
  return (new WriteAtWorker(env, fd, std::move(path), static_cast<uint64_t>(offset), data, static_cast<size_t>(zeros),
                            info[5].As<Napi::Boolean>().Value()))->Start();
}

}  // namespace

void InitLog(Napi::Env env, Napi::Object exports) {
  exports.Set("logWriteAt", Napi::Function::New(env, WriteAt, "logWriteAt"));
}

}  // namespace dfs::binding
