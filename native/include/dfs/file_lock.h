// file_lock.h — an exclusive, advisory, process-lifetime lock on a file (flock).
// The kernel drops it when the process dies, however it dies, so a crashed owner
// never leaves a pool locked.
#pragma once
#include <string>

#include "dfs/status.h"

namespace dfs::lock {

// Open (creating) `path` and take LOCK_EX|LOCK_NB. On success *fd holds the open
// descriptor (the lock lives as long as it). Held elsewhere: code "EBUSY".
Status Acquire(const std::string& path, int* fd);

// Release: close the descriptor.
void Release(int fd);

}  // namespace dfs::lock
