// local_fs.h — the few calls a restore into a plain directory needs that Node's fs lacks:
// extended attributes, special files, and times to the nanosecond (Node's take seconds as
// a double, which is off by up to a microsecond today). Synchronous: each is one system call on a
// local path, made a handful of times per restored file at most.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "dfs/status.h"

namespace dfs::localfs {

// Set extended attribute `name` of `path` (not following a final symlink) to `value`.
Status SetXattr(const std::string& path, const std::string& name, const uint8_t* value, size_t len);

// Create the special file `path` (fifo, character or block device, socket) with `mode`
// (type and permission bits, as st_mode) and device number `dev` (as st_rdev).
Status MakeNode(const std::string& path, uint32_t mode, uint64_t dev);

// Set the access and modification times of `path` (not following a final symlink), or of
// open file `fd` when `fd` >= 0, to the nanosecond (utimensat / futimens).
Status SetTimes(const std::string& path, int fd, int64_t atime_sec, long atime_nsec, int64_t mtime_sec, long mtime_nsec);

}  // namespace dfs::localfs
