// log_io.cc — see dfs/log_io.h.
#include "dfs/log_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace dfs::logio {
namespace {

constexpr size_t kZeroChunk = 64 * 1024;
const uint8_t kZeros[kZeroChunk] = {};

Status WriteAll(int fd, const uint8_t* p, size_t len, uint64_t off, const std::string& path) {
  while (len > 0) {
    ssize_t n = ::pwrite(fd, p, len, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "cannot write log", path);
    }
    if (n == 0) return Status::Error("EIO", "cannot write log " + path + ": the write made no progress", path, EIO);
    p += n;
    len -= static_cast<size_t>(n);
    off += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status WriteZeros(int fd, size_t len, uint64_t off, const std::string& path) {
  while (len > 0) {
    size_t n = std::min(len, kZeroChunk);
    Status st = WriteAll(fd, kZeros, n, off, path);
    if (!st.ok()) return st;
    len -= n;
    off += n;
  }
  return Status::Ok();
}

}  // namespace

Status WriteAt(int fd, const std::string& path, uint64_t offset, const uint8_t* data, size_t len,
               size_t zeros_after, bool sync, WriteAtResult* result) {
  bool own = fd < 0;
  if (own) {
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "cannot open log", path);
  }
  Status st = WriteAll(fd, data, len, offset, path);
  if (st.ok() && zeros_after > 0) st = WriteZeros(fd, zeros_after, offset + len, path);
  if (st.ok() && sync && ::fdatasync(fd) != 0) st = Status::FromErrno(errno, "cannot sync log", path);
  struct stat sb;
  if (st.ok()) {
    if (::fstat(fd, &sb) != 0) st = Status::FromErrno(errno, "cannot stat log", path);
    else result->nlink = static_cast<uint64_t>(sb.st_nlink);
  }
  // close() can report a deferred write error (NFS, some FUSE): fatal for a log too.
  if (own && ::close(fd) != 0 && st.ok()) st = Status::FromErrno(errno, "cannot close log", path);
  return st;
}

}  // namespace dfs::logio
