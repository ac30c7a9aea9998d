// isal_bench.cc — Intel ISA-L reference figures for scripts/bench-native.ts.
//
// Measures, single thread with hot buffers, the same shapes and the same method as
// our native benchmark so the two can be compared as ratios:
//   encode:        ec_encode_data producing m parity fragments from k data fragments;
//   reconstruct2:  rebuild of data fragments 0 and 1 from data 2..k-1 + parity 0..1,
//                  and each call pays for what a real rebuild pays (and what our
//                  Codec::Reconstruct pays): invert the k x k submatrix, build the
//                  decode tables (ec_init_tables), one ec_encode_data with 2 outputs.
// Both rates are GB/s of the stripe's data bytes (k * fragment_bytes, 1 GB = 1e9),
// median of 5 samples of >= 0.2 s (0.05 s with --quick) after 3 warm-up calls.
// The matrix is gf_gen_cauchy1_matrix, which is the same [I; C] as our on-disk code
// (C[i][j] = 1/((k+i) ^ j) over GF(2^8)/0x11D).
//
// Built and run by the benchmark only when /usr/include/isa-l.h exists:
//   g++ -O3 -o isal_bench isal_bench.cc -lisal && ./isal_bench [--quick]
// Prints one JSON object: {"rs":[{"k","m","fragment_bytes","encode_gbps",
// "reconstruct2_gbps"}, ...]}.
#include <isa-l.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

double g_sample_seconds = 0.2;

// Median calls/second over 5 samples, each repeating `op` for >= g_sample_seconds.
template <typename Op>
double MedianRate(Op op) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < 3; i++) op();  // warm: fault pages in, fill caches
  std::vector<double> rates;
  for (int s = 0; s < 5; s++) {
    const auto start = Clock::now();
    long n = 0;
    double elapsed = 0;
    do {
      op();
      n++;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < g_sample_seconds);
    rates.push_back(n / elapsed);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

struct Row {
  int k, m;
  size_t bytes;
  double encode_gbps, reconstruct2_gbps;
};

Row BenchShape(int k, int m, size_t bytes) {
  const int n = k + m;
  std::vector<unsigned char*> frag(n);
  for (int i = 0; i < n; i++) {
    frag[i] = static_cast<unsigned char*>(std::aligned_alloc(64, bytes));
    for (size_t j = 0; j < bytes; j++) {
      frag[i][j] = static_cast<unsigned char>((j * 2654435761u + i) >> 13);
    }
  }
  std::vector<unsigned char> matrix(static_cast<size_t>(n) * k);
  gf_gen_cauchy1_matrix(matrix.data(), n, k);
  std::vector<unsigned char> enc_tables(32u * k * m);
  ec_init_tables(k, m, matrix.data() + k * k, enc_tables.data());

  const double data_bytes = static_cast<double>(k) * bytes;
  const double enc = MedianRate([&] {
    ec_encode_data(static_cast<int>(bytes), k, m, enc_tables.data(), frag.data(), frag.data() + k);
  });

  // Lose data 0 and 1: sources are the first k surviving fragments (data 2..k-1,
  // parity 0..1), outputs are fragments 0 and 1.
  std::vector<unsigned char> sub(static_cast<size_t>(k) * k), inv(sub.size()), dec(2u * k);
  std::vector<unsigned char> dec_tables(32u * k * 2);
  std::vector<unsigned char*> src(k);
  for (int i = 0; i < k; i++) src[i] = frag[i + 2];
  const double rec = MedianRate([&] {
    for (int i = 0; i < k; i++) std::memcpy(&sub[i * k], &matrix[(i + 2) * k], k);
    if (gf_invert_matrix(sub.data(), inv.data(), k) != 0) std::abort();  // cannot: MDS
    std::memcpy(dec.data(), inv.data(), 2u * k);  // rows 0 and 1 of the inverse
    ec_init_tables(k, 2, dec.data(), dec_tables.data());
    ec_encode_data(static_cast<int>(bytes), k, 2, dec_tables.data(), src.data(), frag.data());
  });

  for (auto* p : frag) std::free(p);
  return Row{k, m, bytes, enc * data_bytes / 1e9, rec * data_bytes / 1e9};
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--quick") == 0) g_sample_seconds = 0.05;
  }
  const int shapes[][2] = {{4, 2}, {8, 3}, {10, 4}};
  const size_t sizes[] = {65536, 1048576};
  std::printf("{\"rs\":[");
  bool first = true;
  for (size_t bytes : sizes) {
    for (const auto& s : shapes) {
      const Row r = BenchShape(s[0], s[1], bytes);
      std::printf("%s{\"k\":%d,\"m\":%d,\"fragment_bytes\":%zu,\"encode_gbps\":%.2f,"
                  "\"reconstruct2_gbps\":%.2f}",
                  first ? "" : ",", r.k, r.m, r.bytes, r.encode_gbps, r.reconstruct2_gbps);
      first = false;
    }
  }
  std::printf("]}\n");
  return 0;
}
