// frag_io.cc — durable write and verified read of fragment files on one disk.
//
// Write: header + payload + zero padding in one page-aligned buffer → DISK/tmp/<unique>
// (O_DIRECT where the filesystem allows it) → fdatasync → close → rename into
// DISK/frags/ab/cd/ → fsync(frags/ab/cd). A crash at any point leaves either no
// fragment or a complete one, plus at most an orphan in DISK/tmp for GC to remove.
// Read: header first (so a damaged length cannot make us allocate gigabytes), size
// check, then the whole file into one aligned block, then BLAKE3 of the payload.
// Nothing here throws; every failure is a Status naming the file.
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "dfs/blake3.h"
#include "dfs/frag_io.h"

namespace dfs::frag {
namespace {

uint64_t FileBytes(uint64_t payload_len) {
  return kHeaderLen + (payload_len + kAlign - 1) / kAlign * kAlign;
}

// Process-wide memory: disks where O_DIRECT was refused, and directories whose entry
// we know is durable (created or found, then the parent fsynced). The second set
// matters under concurrency: a mkdir that fails with EEXIST may race a creator that
// has not yet fsynced the parent, so "it exists" alone does not prove durability.
// disk_dev remembers each disk root's filesystem (st_dev) as first seen, so that an
// unmounted disk (umount -l leaves the empty mountpoint) is not silently recreated on
// the filesystem underneath it.
struct State {
  std::mutex mu;
  std::unordered_set<std::string> no_direct;
  std::unordered_set<std::string> durable_dirs;
  std::unordered_map<std::string, dev_t> disk_dev;
};
// Never destroyed: a libuv thread may still be writing while the process exits.
State& G() {
  static State* s = new State;
  return *s;
}

// "/mnt/d1/" and "/mnt/d1" are one disk (the sets above are keyed by this string).
std::string RootKey(const std::string& disk_root) {
  size_t n = disk_root.size();
  while (n > 1 && disk_root[n - 1] == '/') n--;
  return disk_root.substr(0, n);
}

bool Known(const std::string& dir) {
  std::lock_guard<std::mutex> l(G().mu);
  return G().durable_dirs.count(dir) != 0;
}

// Called when a disk's directories may have vanished (ENOENT): forget them so the
// next attempt recreates them instead of trusting a stale cache.
void ForgetDirs(const std::string& disk_root) {
  std::lock_guard<std::mutex> l(G().mu);
  const std::string prefix = disk_root + "/";
  for (auto it = G().durable_dirs.begin(); it != G().durable_dirs.end();)
    it = it->compare(0, prefix.size(), prefix) == 0 ? G().durable_dirs.erase(it) : ++it;
}

void DisableDirect(const std::string& disk_root) {
  std::lock_guard<std::mutex> l(G().mu);
  G().no_direct.insert(disk_root);
}

// disk_root must exist (it is never created here) and still be the filesystem it was.
Status CheckDiskRoot(const std::string& disk_root) {
  struct stat sb;
  if (::stat(disk_root.c_str(), &sb) != 0)
    return Status::FromErrno(errno, "cannot use disk directory", disk_root);
  if (!S_ISDIR(sb.st_mode))
    return Status::FromErrno(ENOTDIR, "cannot use disk directory", disk_root);
  std::lock_guard<std::mutex> l(G().mu);
  auto it = G().disk_dev.emplace(disk_root, sb.st_dev).first;
  if (it->second != sb.st_dev)
    return Status::Error("ENOENT",
                         "disk directory " + disk_root +
                             " is on a different filesystem than when this process first wrote "
                             "to it (was the disk unmounted?); not writing fragments there",
                         disk_root, ENOENT);
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "cannot open directory", dir);
  Status st;
  if (::fsync(fd) != 0) st = Status::FromErrno(errno, "cannot sync directory", dir);
  ::close(fd);  // read-only directory handle: close cannot lose data
  return st;
}

// mkdir `dir` (inside `parent`) if needed and make its entry durable, once per process.
Status EnsureDir(const std::string& parent, const std::string& dir) {
  if (Known(dir)) return Status::Ok();
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return Status::FromErrno(errno, "cannot create directory", dir);
  Status st = FsyncDir(parent);
  if (!st.ok()) return st;
  std::lock_guard<std::mutex> l(G().mu);
  G().durable_dirs.insert(dir);
  return Status::Ok();
}

// Unique per attempt; pid + random so orphans of a crashed process never collide with
// a live one, and O_EXCL catches the remaining (astronomically unlikely) clash.
std::string TmpName(const std::string& base) {
  uint64_t r = 0;
  if (::getrandom(&r, sizeof r, GRND_NONBLOCK) != ssize_t(sizeof r)) {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    static std::atomic<uint64_t> counter{0};
    r = uint64_t(ts.tv_nsec) ^ (uint64_t(ts.tv_sec) << 30) ^ (counter++ << 48);
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, ".%ld.%016llx", long(::getpid()), (unsigned long long)r);
  return base + buf;
}

// Owns an AllocBlock block until Release() (frag_block.cc recycles them).
struct AlignedBlock {
  uint8_t* p = nullptr;
  ~AlignedBlock() { FreeBlock(p); }
  bool Alloc(size_t n) { return (p = AllocBlock(n)) != nullptr; }
  uint8_t* Release() {
    uint8_t* q = p;
    p = nullptr;
    return q;
  }
};

// Write all of buf at offset 0. If the filesystem refuses O_DIRECT only at the first
// write (some overlay setups accept the open), switch this fd to buffered and remember
// the disk; later direct-write EINVALs (unexpected) also fall back rather than fail.
Status WriteAll(int fd, const uint8_t* buf, size_t len, bool* direct, const std::string& disk_root,
                const std::string& path) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd, buf + done, len - done, off_t(done));
    if (n > 0) {
      done += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && *direct) {
      if (done == 0) DisableDirect(disk_root);
      int fl = ::fcntl(fd, F_GETFL);
      if (fl < 0 || ::fcntl(fd, F_SETFL, fl & ~O_DIRECT) != 0)
        return Status::FromErrno(errno, "cannot switch fragment to buffered I/O", path);
      *direct = false;
      continue;
    }
    // n == 0 for a nonzero request should not happen on a regular file; call it EIO
    // rather than spinning.
    return Status::FromErrno(n < 0 ? errno : EIO, "cannot write fragment", path);
  }
  return Status::Ok();
}

// One write attempt. `buf` is header + payload + padding, `len` a multiple of 4096.
Status WriteAttempt(const std::string& disk_root, const Header& h, const uint8_t* buf, size_t len,
                    bool sync, WriteResult* result) {
  const std::string rel = RelativePath(h.extent_id, h.index);  // frags/ab/cd/<hex>.<i>
  const std::string tmp_dir = disk_root + "/tmp";
  const std::string frags = disk_root + "/frags";
  const std::string ab = disk_root + "/" + rel.substr(0, 8);
  const std::string cd = disk_root + "/" + rel.substr(0, 11);
  const std::string final_path = disk_root + "/" + rel;
  // Fast path: all four directories known durable. Otherwise (first write to this
  // disk, or after an ENOENT made us forget) check the disk root itself first.
  Status st = Known(tmp_dir) ? Status::Ok() : CheckDiskRoot(disk_root);
  if (st.ok()) st = EnsureDir(disk_root, tmp_dir);
  if (st.ok()) st = EnsureDir(disk_root, frags);
  if (st.ok()) st = EnsureDir(frags, ab);
  if (st.ok()) st = EnsureDir(ab, cd);
  if (!st.ok()) return st;

  bool direct = !DirectDisabled(disk_root);
  std::string tmp;
  int fd = -1;
  for (int tries = 0; fd < 0; tries++) {
    tmp = TmpName(tmp_dir + "/" + rel.substr(12));
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | (direct ? O_DIRECT : 0);
    fd = ::open(tmp.c_str(), flags, 0644);
    if (fd >= 0) break;
    if (errno == EINTR || (errno == EEXIST && tries < 8)) continue;
    if (errno == EINVAL && direct) {  // e.g. a filesystem without direct I/O support
      // Linux creates the file before it checks O_DIRECT (seen on ramfs), so the
      // failed open can leave an empty file behind. The name is ours alone (random,
      // O_EXCL), so removing it is safe.
      ::unlink(tmp.c_str());
      DisableDirect(disk_root);
      direct = false;
      continue;
    }
    return Status::FromErrno(errno, "cannot create fragment", tmp);
  }

  st = WriteAll(fd, buf, len, &direct, disk_root, tmp);
  // Deferred: the caller syncs the whole disk once (SyncDisk) before it relies on the file.
  if (st.ok() && sync && ::fdatasync(fd) != 0) st = Status::FromErrno(errno, "cannot sync fragment", tmp);
  // close() can report a deferred write error (NFS, some FUSE); treat it as fatal.
  // The fd is gone either way, so never close it twice.
  if (::close(fd) != 0 && st.ok()) st = Status::FromErrno(errno, "cannot close fragment", tmp);
  // rename replaces an existing fragment of the same extent and index: by construction
  // it holds the same bytes (a rewrite or a repair), and rename is atomic, so a reader
  // sees the old file or the new one, never a mix.
  if (st.ok() && ::rename(tmp.c_str(), final_path.c_str()) != 0)
    st = Status::FromErrno(errno, "cannot rename fragment into place", final_path);
  if (!st.ok()) {
    ::unlink(tmp.c_str());  // best effort; GC removes it if this fails too
    return st;
  }
  // After the rename there is no temp file to remove, and the final file must stay:
  // it may have replaced an identical fragment the metadata already references.
  st = sync ? FsyncDir(cd) : Status::Ok();
  if (!st.ok()) return st;
  result->direct = direct;
  result->file_bytes = len;
  result->path = final_path;
  return Status::Ok();
}

// pread exactly len bytes at off; a short file is EFORMAT (it shrank or was cut).
Status ReadExact(int fd, uint8_t* buf, size_t len, off_t off, const std::string& path) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, off + off_t(done));
    if (n > 0) {
      done += size_t(n);
    } else if (n == 0) {
      return Status::Error("EFORMAT", path + ": truncated fragment (file ended early)", path);
    } else if (errno != EINTR) {
      return Status::FromErrno(errno, "cannot read fragment", path);
    }
  }
  return Status::Ok();
}

// Open `path`, read and decode its header and check the file size matches it.
Status OpenAndCheck(const std::string& path, int* fd_out, uint8_t hdr[kHeaderLen], Header* h,
                    uint64_t* file_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "cannot open fragment", path);
  struct stat sb;
  Status st;
  if (::fstat(fd, &sb) != 0) {
    st = Status::FromErrno(errno, "cannot stat fragment", path);
  } else if (!S_ISREG(sb.st_mode)) {
    st = Status::Error("EFORMAT", path + ": not a regular file", path);
  } else if (uint64_t(sb.st_size) < kHeaderLen) {
    st = Status::Error("EFORMAT", path + ": truncated fragment (" + std::to_string(sb.st_size) +
                                      " bytes, shorter than the 4096-byte header)", path);
  }
  if (st.ok()) st = ReadExact(fd, hdr, kHeaderLen, 0, path);
  if (st.ok()) st = DecodeHeader(hdr, h, path);
  if (st.ok() && uint64_t(sb.st_size) != FileBytes(h->payload_len)) {
    const bool shorter = uint64_t(sb.st_size) < FileBytes(h->payload_len);
    st = Status::Error("EFORMAT",
                       path + (shorter ? ": truncated fragment (" : ": fragment too long (") +
                           std::to_string(sb.st_size) + " bytes; a payload of " +
                           std::to_string(h->payload_len) + " bytes needs " +
                           std::to_string(FileBytes(h->payload_len)) + ")",
                       path);
  }
  if (!st.ok()) {
    ::close(fd);
    return st;
  }
  *fd_out = fd;
  *file_bytes = uint64_t(sb.st_size);
  return st;
}

std::string Hex32(const uint8_t* p) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; i++) s += kHex[p[i] >> 4], s += kHex[p[i] & 15];
  return s;
}

}  // namespace

bool DirectDisabled(const std::string& disk_root) {
  const std::string key = RootKey(disk_root);
  std::lock_guard<std::mutex> l(G().mu);
  return G().no_direct.count(key) != 0;
}

Status WriteFragment(const std::string& disk_root_arg, const Header& h, const uint8_t* payload,
                     WriteResult* result, bool sync) {
  const std::string disk_root = RootKey(disk_root_arg);
  // Refuse what DecodeHeader would refuse, so we never write an unreadable file.
  if (h.k == 0) return Status::Error("EINVAL", "fragment header k must be at least 1");
  if (h.index >= unsigned(h.k) + h.m)
    return Status::Error("EINVAL", "fragment index " + std::to_string(h.index) +
                                       " is not below k + m = " + std::to_string(h.k + h.m));
  if (uint8_t(h.scheme) > uint8_t(Scheme::kMirror))
    return Status::Error("EINVAL", "unknown redundancy scheme " + std::to_string(int(h.scheme)));
  if (h.payload_len > (uint64_t(1) << 48) || (payload == nullptr && h.payload_len != 0))
    return Status::Error("EINVAL", "fragment payload is missing or implausibly long");
  static const uint8_t kEmpty[1] = {0};
  if (payload == nullptr) payload = kEmpty;  // zero-length payload: never hand on a null
  uint8_t sum[32];
  blake3::hash(payload, size_t(h.payload_len), sum, 32);
  if (std::memcmp(sum, h.payload_hash, 32) != 0)
    return Status::Error("EDIGEST",
                         "fragment payload does not match the BLAKE3 in its header (caller bug)");

  // One copy into an aligned buffer: O_DIRECT needs it, and header + payload then go
  // down in a single write.
  const size_t len = size_t(FileBytes(h.payload_len));
  AlignedBlock buf;
  if (!buf.Alloc(len))
    return Status::Error("ENOMEM", "cannot allocate " + std::to_string(len) + " bytes for a fragment");
  EncodeHeader(h, buf.p);
  if (h.payload_len) std::memcpy(buf.p + kHeaderLen, payload, size_t(h.payload_len));
  std::memset(buf.p + kHeaderLen + h.payload_len, 0, len - kHeaderLen - size_t(h.payload_len));

  Status st = WriteAttempt(disk_root, h, buf.p, len, sync, result);
  if (st.code == "ENOENT") {
    // Our directories may have been removed under us (or the disk remounted): forget
    // what we knew and try once more; if disk_root itself is gone this fails again.
    ForgetDirs(disk_root);
    st = WriteAttempt(disk_root, h, buf.p, len, sync, result);
  }
  return st;
}

Status SyncDisk(const std::string& disk_root) {
  int fd = ::open(disk_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "cannot open disk to sync it", disk_root);
  Status st = Status::Ok();
  // syncfs: every dirty file and directory entry of the disk's filesystem in one call,
  // the batch commit of a transaction group (one call per disk, not one per fragment).
  if (::syncfs(fd) != 0) st = Status::FromErrno(errno, "cannot sync disk", disk_root);
  ::close(fd);
  return st;
}

Status ReadFragment(const std::string& path, const uint8_t* expected_hash, ReadResult* r) {
  alignas(kAlign) uint8_t hdr[kHeaderLen];
  Header h;
  int fd = -1;
  uint64_t file_bytes = 0;
  Status st = OpenAndCheck(path, &fd, hdr, &h, &file_bytes);
  if (!st.ok()) return st;
  AlignedBlock block;
  if (!block.Alloc(size_t(file_bytes))) {
    ::close(fd);
    return Status::Error("ENOMEM", "cannot allocate " + std::to_string(file_bytes) +
                                       " bytes to read fragment " + path, path);
  }
  std::memcpy(block.p, hdr, kHeaderLen);
  st = ReadExact(fd, block.p + kHeaderLen, size_t(file_bytes) - kHeaderLen, off_t(kHeaderLen), path);
  ::close(fd);  // read-only: close has nothing to lose
  if (!st.ok()) return st;

  if (expected_hash && std::memcmp(expected_hash, h.payload_hash, 32) != 0)
    return Status::Error("EDIGEST", "fragment " + path +
                                        " holds a different payload than the metadata expects "
                                        "(header BLAKE3 " + Hex32(h.payload_hash) + ")", path);
  // Padding is outside the payload hash; nonzero padding still means the media or a
  // writer went wrong, and checking < 4 KiB costs nothing.
  const uint8_t* pad = block.p + kHeaderLen + h.payload_len;
  for (size_t i = 0, n = size_t(file_bytes - kHeaderLen - h.payload_len); i < n; i++)
    if (pad[i] != 0)
      return Status::Error("EFORMAT", path + ": fragment padding is not zero", path);
  uint8_t sum[32];
  blake3::hash(block.p + kHeaderLen, size_t(h.payload_len), sum, 32);
  if (std::memcmp(sum, h.payload_hash, 32) != 0)
    return Status::Error("EDIGEST", "fragment " + path + " payload checksum mismatch", path);

  r->header = h;
  r->block_len = size_t(file_bytes);
  r->block = block.Release();
  return Status::Ok();
}

Status CopyFragment(const std::string& path, const uint8_t* expected_hash, const uint8_t extent_id[16],
                    uint16_t index, int out_fd, uint64_t out_off, uint64_t take, uint64_t* payload_len) {
  ReadResult r;
  Status st = ReadFragment(path, expected_hash, &r);
  if (!st.ok()) return st;
  AlignedBlock block;
  block.p = r.block;  // recycled when this returns
  if (r.header.index != index || std::memcmp(r.header.extent_id, extent_id, 16) != 0)
    return Status::Error("EFORMAT", "fragment " + path + " holds fragment " + std::to_string(r.header.index) +
                                        " of another extent or index than its name says", path);
  if (take > r.header.payload_len)
    return Status::Error("EFORMAT", "fragment " + path + " has " + std::to_string(r.header.payload_len) +
                                        " payload bytes, fewer than the " + std::to_string(take) + " to copy", path);
  const uint8_t* src = r.payload();
  for (uint64_t done = 0; done < take;) {
    ssize_t n = ::pwrite(out_fd, src + done, size_t(take - done), off_t(out_off + done));
    if (n > 0) {
      done += uint64_t(n);
    } else if (n < 0 && errno != EINTR) {
      return Status::FromErrno(errno, "cannot write the payload of fragment " + path + " to the target file", "");
    } else if (n == 0) {
      return Status::Error("EIO", "cannot write the payload of fragment " + path + " to the target file (no progress)", "");
    }
  }
  *payload_len = r.header.payload_len;
  return Status::Ok();
}

Status ReadHeader(const std::string& path, Header* h) {
  // Also checks the file size against the header (one fstat): an index rebuilt from
  // disks should not list a truncated fragment as present.
  alignas(kAlign) uint8_t hdr[kHeaderLen];
  int fd = -1;
  uint64_t file_bytes = 0;
  Status st = OpenAndCheck(path, &fd, hdr, h, &file_bytes);
  if (st.ok()) ::close(fd);
  return st;
}

}  // namespace dfs::frag
