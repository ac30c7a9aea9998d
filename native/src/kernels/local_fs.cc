// local_fs.cc — lsetxattr and mknod, with errno turned into a Status.
#include "dfs/local_fs.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

}  // namespace dfs::localfs
