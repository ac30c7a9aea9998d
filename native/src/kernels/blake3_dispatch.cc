// blake3_dispatch.cc — picks the BLAKE3 kernels once per process.
//
// The choice is the widest instruction set the CPU has (AVX2 > SSE4.1 > portable),
// optionally capped by env DYNAMICFS_BLAKE3_ISA=portable|sse41|avx2 so tests and
// benchmarks can run the narrower kernels on a wide machine. The cap never raises
// the choice above what the CPU supports, and an unknown value means "best".
// This file is built without ISA flags: it only detects and points.
#include <cstdlib>
#include <cstring>

#include "blake3_internal.h"

namespace dfs::blake3 {
namespace internal {
namespace {

Isa best_isa() {
#if defined(DFS_B3_X86)
  // libgcc / compiler-rt only report AVX2 when the OS has enabled YMM state
  // (OSXSAVE + XCR0), so a "yes" here is safe to execute.
  __builtin_cpu_init();
  const bool sse41 = __builtin_cpu_supports("sse4.1");
  if (sse41 && __builtin_cpu_supports("avx2")) return Isa::kAvx2;
  if (sse41) return Isa::kSse41;
#endif
  return Isa::kPortable;
}

Isa resolve_isa() {
  const Isa best = best_isa();
  const char* cap = std::getenv("DYNAMICFS_BLAKE3_ISA");
  if (cap == nullptr) return best;
  Isa want = best;
  if (std::strcmp(cap, "portable") == 0) want = Isa::kPortable;
  else if (std::strcmp(cap, "sse41") == 0) want = Isa::kSse41;
  else if (std::strcmp(cap, "avx2") == 0) want = Isa::kAvx2;
  // Isa values are ordered narrow -> wide, so the cap is a min().
  return static_cast<int>(want) < static_cast<int>(best) ? want : best;
}

const Ops kPortableOps = {Isa::kPortable, compress_in_place_portable, compress_xof_portable,
                          hash_many_portable};
#if defined(DFS_B3_X86)
// Single-block work (parents left over, the root, XOF blocks, partial chunks) uses
// the SSE4.1 row compressor on both SIMD levels: AVX2 has no wider single-block form.
const Ops kSse41Ops = {Isa::kSse41, compress_in_place_sse41, compress_xof_sse41,
                       hash_many_sse41};
const Ops kAvx2Ops = {Isa::kAvx2, compress_in_place_sse41, compress_xof_sse41,
                      hash_many_avx2};
#endif

}  // namespace

bool cpu_supports(Isa isa) {
  static const Isa best = best_isa();
  return static_cast<int>(isa) <= static_cast<int>(best);
}

const Ops& ops_for(Isa isa) {
#if defined(DFS_B3_X86)
  if (isa == Isa::kAvx2 && cpu_supports(Isa::kAvx2)) return kAvx2Ops;
  if (isa == Isa::kSse41 && cpu_supports(Isa::kSse41)) return kSse41Ops;
#else
  (void)isa;
#endif
  return kPortableOps;
}

const Ops& ops() {
  // A function-local static is initialized exactly once, thread-safely (C++11), and
  // afterwards costs one predictable branch per call.
  static const Ops& chosen = ops_for(resolve_isa());
  return chosen;
}

}  // namespace internal

Isa active_isa() { return internal::ops().isa; }

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kPortable: return "portable";
    case Isa::kSse41: return "sse41";
    case Isa::kAvx2: return "avx2";
  }
  return "portable";
}

}  // namespace dfs::blake3
