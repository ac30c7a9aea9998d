// frag_io.h — durable fragment files on one disk (format 1; docs/FORMAT.md).
//
// A fragment file is a 4096-byte header followed by the payload, zero-padded to a
// multiple of 4096. Writes go to DISK/tmp/<unique>, then fdatasync, rename into
// DISK/frags/ab/cd/<extent-hex>.<index>, fsync of the destination directory. O_DIRECT
// (aligned buffers) is used where the disk's filesystem accepts it; the first EINVAL
// on a disk marks it buffered-only for the life of the process. Reads verify the
// header checksum and the payload's BLAKE3 before returning anything.
// All functions are blocking and thread-safe: the binding runs them on the libuv pool.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dfs/status.h"

namespace dfs::frag {

constexpr size_t kHeaderLen = 4096;
constexpr size_t kAlign = 4096;
constexpr uint16_t kFormatMajor = 1;
constexpr uint16_t kFormatMinor = 0;

enum class Scheme : uint8_t { kReedSolomon = 0, kMirror = 1 };

struct Header {
  uint8_t pool_uuid[16] = {};
  uint8_t extent_id[16] = {};
  uint16_t index = 0;       // fragment index within the extent (0..k+m-1)
  uint8_t k = 0;
  uint8_t m = 0;
  Scheme scheme = Scheme::kReedSolomon;
  uint64_t payload_len = 0;
  uint8_t payload_hash[32] = {};  // BLAKE3 of the payload bytes (unpadded)
};

// Serialize/parse the 4096-byte header (little-endian, checksummed).
// Parse errors: EFORMAT (bad magic, bad checksum, nonzero reserved bytes, unknown
// major version), message says which.
void EncodeHeader(const Header& h, uint8_t out[kHeaderLen]);
Status DecodeHeader(const uint8_t in[kHeaderLen], Header* h, const std::string& path);

// "frags/ab/cd/<32 hex of extent id>.<index>" (ab, cd: first two bytes of the id in hex).
std::string RelativePath(const uint8_t extent_id[16], uint16_t index);

struct WriteResult {
  bool direct = false;   // O_DIRECT was used
  uint64_t file_bytes = 0;  // bytes on disk (header + padded payload)
  std::string path;      // final absolute path
};

// Durably write one fragment under disk_root. The payload hash in `h` must already
// be BLAKE3(payload); it is checked here and a mismatch is EDIGEST (a caller bug).
// The temp file is removed on any failure. An existing file at the final path is
// replaced (atomically, by rename): the same extent and index always hold the same
// bytes. If only the final directory fsync fails, the error is returned but the
// renamed file is left in place (it may have replaced one the metadata references).
// Missing directories under disk_root (tmp/, frags/ab/cd/) are created; disk_root
// itself never is. Errors: errno names (ENOSPC, EROFS, EIO, EACCES, ENOENT when
// disk_root is gone), EDIGEST, EINVAL (header k/m/index/scheme invalid), ENOMEM.
// With sync false the fdatasync and the directory fsync are skipped: the file is in
// place but not durable until SyncDisk(disk_root) returns (transaction groups batch it).
Status WriteFragment(const std::string& disk_root, const Header& h, const uint8_t* payload,
                     WriteResult* result, bool sync = true);

// syncfs(2) on the filesystem holding disk_root: makes every fragment written there
// with sync false durable, directory entries included.
Status SyncDisk(const std::string& disk_root);

// A page-aligned block holding a whole fragment file: header at block[0..4096),
// payload at block + kHeaderLen. Owns its memory (free with FreeBlock) so the binding
// can hand the payload to JS as an external Buffer without a copy.
struct ReadResult {
  Header header;
  uint8_t* block = nullptr;
  size_t block_len = 0;
  const uint8_t* payload() const { return block + kHeaderLen; }
};
// AllocBlock: at least len bytes (rounded up to 4096), 4096-aligned, possibly recycled
// (its old contents are not cleared); nullptr when out of memory. FreeBlock takes
// blocks from AllocBlock or ReadFragment (null is fine) and may keep them for reuse.
uint8_t* AllocBlock(size_t len);
void FreeBlock(uint8_t* block);

// Read and verify one fragment at an absolute path. If expected_hash is not null the
// header's payload hash must equal it (EDIGEST otherwise). The payload is verified
// against the header hash (EDIGEST); a short file is EFORMAT. On error nothing is
// left allocated in *r.
Status ReadFragment(const std::string& path, const uint8_t* expected_hash, ReadResult* r);

// Read and verify one fragment as ReadFragment does, check that its header names fragment
// `index` of extent `extent_id` (EFORMAT otherwise), then write the first `take` bytes of its
// payload at `out_off` of the open file `out_fd` (pwrite, no sync; EFORMAT when the payload
// is shorter). The payload never leaves C++: its block is recycled, so copying an extent
// into a file costs no JS buffer. Write errors are errno names with a message saying the
// target was being written. *payload_len is the fragment's payload length.
Status CopyFragment(const std::string& path, const uint8_t* expected_hash, const uint8_t extent_id[16],
                    uint16_t index, int out_fd, uint64_t out_off, uint64_t take, uint64_t* payload_len);

// Read only and verify the header (used to rebuild the index from disks). Also checks
// the file size against the header's payload length (EFORMAT), but not the payload.
Status ReadHeader(const std::string& path, Header* h);

// Whether the process has found O_DIRECT unusable on this disk (for tests and stats).
bool DirectDisabled(const std::string& disk_root);

}  // namespace dfs::frag
