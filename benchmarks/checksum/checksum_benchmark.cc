// The Internet checksum as the layers compute it (eight bytes per load, machine byte order,
// layers/common/checksum.h) beside its definition (one big-endian 16-bit word at a time), over an
// IPv4 header (20 bytes), a small datagram (72) and a full one (1480: UDP header and 1472 bytes).
// Then a payload copied into a frame and summed, the two ways UDP's transmit does it: memcpy then
// sum (read back from the frame), or checksum_copy (one pass, summed from the source), at 64 and
// 1472 bytes. Copied then read back at once, the sum's loads wait for the copy's stores (store
// forwarding fails from wide vector stores to 8-byte loads): that is the cost the second avoids.
//   bazel run --config=opt //benchmarks/checksum:checksum_benchmark
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstring>
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

void copy_then_sum(benchmark::State& state) {
  const std::vector<std::byte> data = data_of(state);
  std::vector<std::byte> frame(data.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(data.data());
    std::memcpy(frame.data(), data.data(), data.size());
    benchmark::DoNotOptimize(checksum_accumulate(frame));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void fused_copy(benchmark::State& state) {
  const std::vector<std::byte> data = data_of(state);
  std::vector<std::byte> frame(data.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(data.data());
    benchmark::DoNotOptimize(checksum_copy(frame, data));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

BENCHMARK(copy_then_sum)->Name("checksum/copy_then_sum")->Arg(64)->Arg(1472);
BENCHMARK(fused_copy)->Name("checksum/checksum_copy")->Arg(64)->Arg(1472);
BENCHMARK(checksum<definition>)->Name("checksum/definition")->Arg(20)->Arg(72)->Arg(1480);
BENCHMARK(checksum<layers>)->Name("checksum/layers")->Arg(20)->Arg(72)->Arg(1480);

}  // namespace
}  // namespace pollstack::wire

BENCHMARK_MAIN();
