// status.h — the one error value every pure kernel returns.
// Kernels never throw and never touch N-API: they fill a Status, and the binding
// turns it into a JS Error with a stable string `code`.
#pragma once
#include <string>

namespace dfs {

struct Status {
  // Stable string code: "OK", an errno name ("ENOENT", "EIO", "ENOSPC", "EROFS", ...),
  // or one of ours: "EDIGEST" (checksum mismatch), "EFORMAT" (bad header),
  // "EINVAL" (bad argument), "ETOOMANYLOST" (more than m shards missing).
  std::string code = "OK";
  std::string message;  // names the thing that failed and, where it can, the fix
  std::string path;     // file involved, empty if none
  int sys_errno = 0;    // raw errno when the failure came from the OS, else 0

  bool ok() const { return code == "OK"; }
  static Status Ok() { return Status(); }
  static Status Error(std::string c, std::string msg, std::string p = std::string(), int e = 0) {
    Status s;
    s.code = std::move(c);
    s.message = std::move(msg);
    s.path = std::move(p);
    s.sys_errno = e;
    return s;
  }
  // From an errno value: code is the errno's symbolic name (ENOENT...), message
  // is "<what> <path>: <strerror>".
  static Status FromErrno(int e, const std::string& what, const std::string& p);
};

// Symbolic name of an errno value ("ENOENT"); "EUNKNOWN" when not in our table.
const char* errno_name(int e);

}  // namespace dfs
