// rs_dispatch.cc — picks the dot_product kernel once per process.
//
// Order of preference: avx2 > ssse3 > scalar. A kernel is eligible only if the CPU
// has the instructions AND (for AVX2) the OS saves the YMM registers on context
// switch (CPUID.OSXSAVE + XCR0 bits 1|2) — a hypervisor or kernel can hide AVX state
// even when CPUID advertises AVX2, and executing VEX code then faults.
// DYNAMICFS_RS_ISA=scalar|ssse3|avx2 caps the choice (tests and benchmarks use it to
// prove every kernel gives the same bytes); the cap can only lower the choice, and an
// unknown value is ignored.
//
// This file is compiled without ISA flags: it must not call any SIMD intrinsic.
#include <cstdlib>
#include <cstring>

#include "dfs/rs.h"
#include "rs_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define DFS_RS_X86 1
#endif

namespace dfs::rs {
namespace {

#ifdef DFS_RS_X86
// True when the OS enabled XSAVE and keeps SSE and AVX (YMM) state in XCR0.
bool OsSavesYmm() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  if (!(c & bit_OSXSAVE)) return false;  // xgetbv would fault
  unsigned lo = 0, hi = 0;
  // Inline asm rather than _xgetbv(): the intrinsic needs -mxsave on this TU.
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 0x6) == 0x6;
}
#endif

Isa DetectBest() {
#ifdef DFS_RS_X86
  __builtin_cpu_init();  // harmless if already done; required before static ctors run
  if (__builtin_cpu_supports("avx2") && OsSavesYmm()) return Isa::kAvx2;
  if (__builtin_cpu_supports("ssse3")) return Isa::kSsse3;
#endif
  return Isa::kScalar;
}

Isa Resolve() {
  Isa best = DetectBest();
  const char* env = std::getenv("DYNAMICFS_RS_ISA");
  if (env != nullptr) {
    Isa cap = best;
    if (std::strcmp(env, "scalar") == 0) cap = Isa::kScalar;
    else if (std::strcmp(env, "ssse3") == 0) cap = Isa::kSsse3;
    else if (std::strcmp(env, "avx2") == 0) cap = Isa::kAvx2;
    // Unknown value: keep `best`. A cap can only lower the choice, never enable an
    // ISA the CPU lacks.
    if (static_cast<int>(cap) < static_cast<int>(best)) best = cap;
  }
  return best;
}

struct Choice {
  Isa isa;
  kernels::DotProductFn fn;
};

// Function-local static: C++11 guarantees one thread-safe initialisation, and every
// later call is a plain load (the guard check is a predictable branch).
const Choice& Chosen() {
  static const Choice choice = [] {
    const Isa isa = Resolve();
    switch (isa) {
      case Isa::kAvx2: return Choice{isa, &kernels::dot_product_avx2};
      case Isa::kSsse3: return Choice{isa, &kernels::dot_product_ssse3};
      case Isa::kScalar: break;
    }
    return Choice{Isa::kScalar, &kernels::dot_product_scalar};
  }();
  return choice;
}

}  // namespace

Isa active_isa() { return Chosen().isa; }

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kSsse3: return "ssse3";
    case Isa::kAvx2: return "avx2";
  }
  return "unknown";
}

void dot_product(const uint8_t* coeffs, int nsrc, int nout, const uint8_t* const* src,
                 uint8_t* const* out, size_t len) {
  if (len == 0 || nout <= 0) return;
  if (nsrc <= 0) {  // outside the contract; the empty sum is zero, so say so
    for (int o = 0; o < nout; ++o) std::memset(out[o], 0, len);
    return;
  }
  Chosen().fn(coeffs, nsrc, nout, src, out, len);
}

}  // namespace dfs::rs
