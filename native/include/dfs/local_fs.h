// local_fs.h — the few calls a restore into a plain directory needs that Node's fs lacks:
// extended attributes and special files. Synchronous: each is one system call on a
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

}  // namespace dfs::localfs
