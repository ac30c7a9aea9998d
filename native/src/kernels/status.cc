// status.cc — Status::FromErrno and the errno -> symbolic name table.
//
// The binding exposes Status::code as the JS Error's `code`, and callers switch on
// it ("ENOSPC" -> mark disk full, "EROFS" -> mark read-only, ...), so the names must
// be the POSIX spellings. Values outside the table become "EUNKNOWN"; sys_errno
// still carries the raw number for logs.
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "dfs/status.h"

namespace dfs {
namespace {

// strerror() may share a static buffer between threads; strerror_r is safe but has
// two incompatible signatures (GNU returns char*, XSI returns int). Overloading on
// the return type picks the right interpretation at compile time.
[[maybe_unused]] const char* StrerrorResult(const char* r, const char*) { return r; }
[[maybe_unused]] const char* StrerrorResult(int rc, const char* buf) {
  return rc == 0 ? buf : "Unknown error";
}

std::string ErrnoText(int e) {
  char buf[256];
  buf[0] = '\0';
  return StrerrorResult(strerror_r(e, buf, sizeof(buf)), buf);
}

}  // namespace

const char* errno_name(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";  // == EWOULDBLOCK on Linux
    case EBUSY: return "EBUSY";
    case EXDEV: return "EXDEV";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EFBIG: return "EFBIG";
    case EDQUOT: return "EDQUOT";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ELOOP: return "ELOOP";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case ESTALE: return "ESTALE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENOMEM: return "ENOMEM";
    case EINTR: return "EINTR";
    default: return "EUNKNOWN";
  }
}

Status Status::FromErrno(int e, const std::string& what, const std::string& p) {
  std::string msg = what;
  if (!p.empty()) {
    msg += ' ';
    msg += p;
  }
  msg += ": ";
  msg += ErrnoText(e);
  return Error(errno_name(e), std::move(msg), p, e);
}

}  // namespace dfs
