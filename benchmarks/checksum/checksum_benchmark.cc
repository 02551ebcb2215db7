// The Internet checksum as the layers compute it (eight bytes per load, machine byte order,
// layers/common/checksum.h) beside its definition (one big-endian 16-bit word at a time), over an
// IPv4 header (20 bytes), a small datagram (72) and a full one (1480: UDP header and 1472 bytes).
//   bazel run --config=opt //benchmarks/checksum:checksum_benchmark
#include <benchmark/benchmark.h>

#include <cstddef>
#include <vector>

#include "layers/common/checksum.h"

namespace pollstack::wire {
namespace {

std::vector<std::byte> data_of(benchmark::State& state) {
  std::vector<std::byte> data(static_cast<std::size_t>(state.range(0)));
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 13 + 1);
  return data;
}

template <std::uint32_t (*Sum)(std::span<const std::byte>)>
void checksum(benchmark::State& state) {
  const std::vector<std::byte> data = data_of(state);
  for (auto _ : state) {
    benchmark::DoNotOptimize(data.data());
    benchmark::DoNotOptimize(Sum(data));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

std::uint32_t layers(std::span<const std::byte> bytes) { return checksum_accumulate(bytes); }
std::uint32_t definition(std::span<const std::byte> bytes) {
  return checksum_detail::sum_big_endian_words(bytes);
}

BENCHMARK(checksum<definition>)->Name("checksum/definition")->Arg(20)->Arg(72)->Arg(1480);
BENCHMARK(checksum<layers>)->Name("checksum/layers")->Arg(20)->Arg(72)->Arg(1480);

}  // namespace
}  // namespace pollstack::wire

BENCHMARK_MAIN();
