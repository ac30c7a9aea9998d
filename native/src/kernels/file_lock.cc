// file_lock.cc — flock-based exclusive pool lock.
#include "dfs/file_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace dfs::lock {

Status Acquire(const std::string& path, int* fd) {
  int f = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (f < 0) return Status::FromErrno(errno, "cannot open lock file", path);
  if (flock(f, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(f);
    if (e == EWOULDBLOCK) return Status::Error("EBUSY", "lock " + path + " is held by another process", path, e);
    return Status::FromErrno(e, "cannot lock", path);
  }
  *fd = f;
  return Status::Ok();
}

void Release(int fd) {
  if (fd >= 0) close(fd);
}

}  // namespace dfs::lock
