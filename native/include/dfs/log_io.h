// log_io.h — durable positional writes for the pool's append-only logs (the intent log
// and the metadata-copy log on each disk; docs/FORMAT.md).
//
// An fsync through the intent log waits for one of these on each of m+1 disks, so the
// whole write — open (if by path), pwrite, the zeros ahead, fdatasync, fstat, close —
// runs as ONE call on one libuv thread: four thread-pool round trips per disk cost
// more than the sync itself on a small record.
// Blocking and thread-safe: the binding runs it on the libuv pool.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "dfs/status.h"

namespace dfs::logio {

struct WriteAtResult {
  uint64_t nlink = 0;  // the file's link count after the write (0: unlinked under us)
};

// Write `len` bytes of `data` at `offset`, then `zeros_after` zero bytes right after them
// (a reader stops at zeros as at a torn tail), then fdatasync when `sync`, then fstat.
// `fd` >= 0: write through that descriptor (kept open by the caller); else open `path`
// read-write without creating it (ENOENT when it is gone) and close it after.
// A short write is retried until done; an error names `path` (also given with an fd).
Status WriteAt(int fd, const std::string& path, uint64_t offset, const uint8_t* data, size_t len,
               size_t zeros_after, bool sync, WriteAtResult* result);

}  // namespace dfs::logio
