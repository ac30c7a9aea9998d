// peer_cred.h — who is at the other end of a connected Unix socket, as the kernel says
// (SO_PEERCRED: the pid, uid and gid of the process that connected). Node has no API for
// it; the coordinator's admin socket decides what a peer may do from it.
#pragma once
#include <cstdint>

#include "dfs/status.h"

namespace dfs::peer {

struct Credentials {
  int64_t pid = -1;
  int64_t uid = -1;
  int64_t gid = -1;
};

// The credentials of the peer of the Unix socket `fd` (ENOTSOCK, EBADF... otherwise).
Status Read(int fd, Credentials* out);

}  // namespace dfs::peer
