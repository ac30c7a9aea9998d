// frag_header.cc — the 4096-byte fragment header (format 1.0): encode, decode and
// verify, plus the fragment's path under a disk. Byte layout: docs/FORMAT.md.
//
// Decoding is strict on purpose: every reserved byte is checked to be zero, so a
// file that passes is exactly what this version writes. A future minor version may
// only use the reserved bytes if it accepts that 1.0 readers will refuse its files.
#include <cstdio>
#include <cstring>

#include "dfs/blake3.h"
#include "dfs/frag_io.h"

namespace dfs::frag {
namespace {

constexpr char kMagic[8] = {'D', 'F', 'S', 'F', 'R', 'A', 'G', '1'};

// Field offsets (docs/FORMAT.md, "Fragment header").
constexpr size_t kOffMajor = 8;
constexpr size_t kOffMinor = 10;
constexpr size_t kOffHeaderLen = 12;
constexpr size_t kOffPoolUuid = 16;
constexpr size_t kOffExtentId = 32;
constexpr size_t kOffIndex = 48;
constexpr size_t kOffK = 50;
constexpr size_t kOffM = 51;
constexpr size_t kOffScheme = 52;
constexpr size_t kOffReserved1 = 53;  // 3 bytes
constexpr size_t kOffPayloadLen = 56;
constexpr size_t kOffPayloadHash = 64;
constexpr size_t kOffHeaderSum = 96;
constexpr size_t kOffReserved2 = 128;  // to the end of the header

void Put16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}
void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (8 * i));
}
void Put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = uint8_t(v >> (8 * i));
}
uint16_t Get16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t Get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
uint64_t Get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

// BLAKE3 of the header with the checksum field taken as zero. Hashing a copy keeps
// the caller's buffer const; 4 KiB on the stack is fine on libuv pool threads.
void HeaderSum(const uint8_t in[kHeaderLen], uint8_t out[32]) {
  uint8_t tmp[kHeaderLen];
  std::memcpy(tmp, in, kHeaderLen);
  std::memset(tmp + kOffHeaderSum, 0, 32);
  blake3::hash(tmp, kHeaderLen, out, 32);
}

// Index of the first nonzero byte in [from, to), or `to` if all are zero.
size_t FirstNonzero(const uint8_t* p, size_t from, size_t to) {
  for (size_t i = from; i < to; i++)
    if (p[i] != 0) return i;
  return to;
}

Status Bad(const std::string& path, const std::string& what) {
  const std::string where = path.empty() ? std::string("fragment header") : path;
  return Status::Error("EFORMAT", where + ": " + what, path);
}

}  // namespace

void EncodeHeader(const Header& h, uint8_t out[kHeaderLen]) {
  std::memset(out, 0, kHeaderLen);  // reserved bytes are zero by definition
  std::memcpy(out, kMagic, 8);
  Put16(out + kOffMajor, kFormatMajor);
  Put16(out + kOffMinor, kFormatMinor);
  Put32(out + kOffHeaderLen, uint32_t(kHeaderLen));
  std::memcpy(out + kOffPoolUuid, h.pool_uuid, 16);
  std::memcpy(out + kOffExtentId, h.extent_id, 16);
  Put16(out + kOffIndex, h.index);
  out[kOffK] = h.k;
  out[kOffM] = h.m;
  out[kOffScheme] = uint8_t(h.scheme);
  Put64(out + kOffPayloadLen, h.payload_len);
  std::memcpy(out + kOffPayloadHash, h.payload_hash, 32);
  uint8_t sum[32];
  HeaderSum(out, sum);  // checksum field is still zero here
  std::memcpy(out + kOffHeaderSum, sum, 32);
}

Status DecodeHeader(const uint8_t in[kHeaderLen], Header* h, const std::string& path) {
  if (std::memcmp(in, kMagic, 8) != 0)
    return Bad(path, "not a DynamicFS fragment (magic is not \"DFSFRAG1\")");

  uint8_t sum[32];
  HeaderSum(in, sum);
  const bool sum_ok = std::memcmp(sum, in + kOffHeaderSum, 32) == 0;

  // The major version is judged before the checksum: a newer major may lay out or
  // checksum its header differently, and "upgrade DynamicFS" is the useful answer.
  // When the format-1 checksum also fails we cannot tell that from damage, so say so.
  const uint16_t major = Get16(in + kOffMajor);
  const uint16_t minor = Get16(in + kOffMinor);
  if (major != kFormatMajor) {
    const std::string ver = std::to_string(major) + "." + std::to_string(minor);
    std::string msg = major > kFormatMajor
        ? "fragment format " + ver + " is newer than this DynamicFS reads (1.x); "
          "a newer DynamicFS is needed to read it"
        : "fragment format " + ver + " is not a valid version (this DynamicFS reads 1.x)";
    if (!sum_ok) msg += ", or the header is damaged";
    return Bad(path, msg);
  }
  if (!sum_ok) return Bad(path, "fragment header checksum mismatch (the header is damaged)");

  // From here on the bytes are exactly what some writer produced, so any oddity is
  // a writer that does not follow format 1.0, not media damage.
  const uint32_t header_len = Get32(in + kOffHeaderLen);
  if (header_len != kHeaderLen)
    return Bad(path, "fragment header length " + std::to_string(header_len) + ", expected 4096");
  size_t nz = FirstNonzero(in, kOffReserved1, kOffReserved1 + 3);
  if (nz == kOffReserved1 + 3) nz = FirstNonzero(in, kOffReserved2, kHeaderLen);
  if (nz != kHeaderLen)
    return Bad(path, "reserved header byte " + std::to_string(nz) +
                         " is not zero (written by format 1." + std::to_string(minor) +
                         ", which this DynamicFS (1.0) cannot read)");

  Header out;
  std::memcpy(out.pool_uuid, in + kOffPoolUuid, 16);
  std::memcpy(out.extent_id, in + kOffExtentId, 16);
  out.index = Get16(in + kOffIndex);
  out.k = in[kOffK];
  out.m = in[kOffM];
  const uint8_t scheme = in[kOffScheme];
  out.payload_len = Get64(in + kOffPayloadLen);
  std::memcpy(out.payload_hash, in + kOffPayloadHash, 32);

  if (out.k == 0) return Bad(path, "fragment header has k = 0");
  if (out.index >= unsigned(out.k) + out.m)
    return Bad(path, "fragment index " + std::to_string(out.index) + " is not below k + m = " +
                         std::to_string(unsigned(out.k) + out.m));
  if (scheme > uint8_t(Scheme::kMirror))
    return Bad(path, "unknown redundancy scheme " + std::to_string(scheme));
  // Keeps header + padded payload representable; no real fragment comes near this.
  if (out.payload_len > (uint64_t(1) << 48))
    return Bad(path, "payload length " + std::to_string(out.payload_len) + " is implausible");
  out.scheme = Scheme(scheme);
  *h = out;
  return Status::Ok();
}

std::string RelativePath(const uint8_t extent_id[16], uint16_t index) {
  static const char kHex[] = "0123456789abcdef";
  char hex[33];
  for (int i = 0; i < 16; i++) {
    hex[2 * i] = kHex[extent_id[i] >> 4];
    hex[2 * i + 1] = kHex[extent_id[i] & 15];
  }
  hex[32] = 0;
  char buf[80];
  std::snprintf(buf, sizeof buf, "frags/%.2s/%.2s/%s.%u", hex, hex + 2, hex, unsigned(index));
  return buf;
}

}  // namespace dfs::frag
