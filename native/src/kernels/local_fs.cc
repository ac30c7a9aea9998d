// local_fs.cc — lsetxattr, mknod and utimensat, with errno turned into a Status.
#include "dfs/local_fs.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <fcntl.h>
#include <sys/xattr.h>

namespace dfs::localfs {

Status SetXattr(const std::string& path, const std::string& name, const uint8_t* value, size_t len) {
  if (lsetxattr(path.c_str(), name.c_str(), value, len, 0) != 0) {
    return Status::FromErrno(errno, "cannot set extended attribute " + name + " of", path);
  }
  return Status::Ok();
}

Status MakeNode(const std::string& path, uint32_t mode, uint64_t dev) {
  if (mknod(path.c_str(), static_cast<mode_t>(mode), static_cast<dev_t>(dev)) != 0) {
    return Status::FromErrno(errno, "cannot create special file", path);
  }
  return Status::Ok();
}

Status SetTimes(const std::string& path, int fd, int64_t atime_sec, long atime_nsec, int64_t mtime_sec, long mtime_nsec) {
  struct timespec ts[2];
  ts[0].tv_sec = static_cast<time_t>(atime_sec);
  ts[0].tv_nsec = atime_nsec;
  ts[1].tv_sec = static_cast<time_t>(mtime_sec);
  ts[1].tv_nsec = mtime_nsec;
  int rc = fd >= 0 ? futimens(fd, ts) : utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  if (rc != 0) return Status::FromErrno(errno, "cannot set the times of", path);
  return Status::Ok();
}

}  // namespace dfs::localfs
