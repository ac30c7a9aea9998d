// peer_cred.cc — see dfs/peer_cred.h.
#include "dfs/peer_cred.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>

namespace dfs::peer {

Status Read(int fd, Credentials* out) {
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return Status::FromErrno(errno, "cannot read the socket peer's credentials", "");
  out->pid = cred.pid;
  out->uid = cred.uid;
  out->gid = cred.gid;
  return Status::Ok();
}

}  // namespace dfs::peer
