// TCP through two whole stacks in one process and one thread (tcp_world.h): bulk throughput from
// A to B with every byte checked, and the round trip of a 64-byte request and its answer. MTU
// 1500, TCP checksums computed by the sender and verified by the receiver, the wire copying each
// frame once, the stacks' timers on the steady clock.
//   BM_TcpBulk/<buffer bytes>                  1 MiB per iteration (as long as --benchmark_min_time asks)
//   BM_TcpBulk/<buffer bytes>/iterations:1024  1 GiB
//   BM_TcpBulk/65536/rfc7323_off               the same without window scaling and timestamps
//   BM_TcpRoundTrip                            time per iteration: one round trip
// Bulk counters: bits_per_second (payload, read and checked), ns_per_segment (per data segment A
// sent), bytes_per_segment, acks_per_segment (segments B sent per data segment),
// allocs_per_segment (operator new and malloc, from the heap probe: must be 0), retransmissions
// (timeouts and fast retransmits of both stacks: 0 on this clean wire), pauses (waits of over
// 1 ms with nothing read while the thread ran: a delayed ACK or a timeout holding the stream up),
// descheduled (times the thread was seen not running: another process had the core).
//   bazel build --config=opt //benchmarks/tcp:tcp_benchmark
//   bazel-bin/benchmarks/tcp/tcp_benchmark --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>

#include "benchmarks/tcp/tcp_applications.h"
#include "benchmarks/tcp/tcp_world.h"
#include "tools/heap_probe/heap_probe.h"

namespace pollstack::bench {
namespace {

/// Bytes per bulk iteration.
constexpr std::uint64_t kChunkBytes = std::uint64_t{1} << 20;

/// What the counters are computed from, read before and after the measured loop.
struct Totals {
  std::uint64_t bytes = 0;
  std::uint64_t data_segments = 0;   // A sends nothing else: it receives no data to acknowledge
  std::uint64_t answer_segments = 0;  // B's: ACKs and window updates
  std::uint64_t retransmissions = 0;
  std::uint64_t allocations = 0;
  std::uint64_t pauses = 0;
  std::uint64_t descheduled = 0;

  template <class World, class Stream>
  static Totals of(World& world, const Stream& stream) {
    const net::TcpCounters& a = world.a().tcp().counters();
    const net::TcpCounters& b = world.b().tcp().counters();
    const heap_probe::Counts heap = heap_probe::thread_counts();
    return {stream.verified(), a.segments_sent, b.segments_sent,
            a.retransmissions + a.fast_retransmits + b.retransmissions + b.fast_retransmits,
            heap.allocations + heap.mallocs, stream.pauses(), stream.descheduled()};
  }
};

double per(std::uint64_t count, std::uint64_t over) {
  return static_cast<double>(count) / static_cast<double>(over == 0 ? 1 : over);
}

template <std::size_t kBufferBytes, bool kRfc7323 = true>
void bulk(benchmark::State& state) {
  auto world = std::make_unique<TcpWorld<kBufferBytes>>(
      net::TcpFeatures{.window_scaling = kRfc7323, .timestamps = kRfc7323});
  if (world->failure() != nullptr) return state.SkipWithError(world->failure());
  auto stream = std::make_unique<BulkStream<kBufferBytes>>(*world);
  // Outside the measurement: slow start over, the windows open, the caches warm.
  bool ok = stream->transfer(kChunkBytes);
  const Totals before = Totals::of(*world, *stream);
  if (ok) {
    for (auto _ : state) {
      if (!stream->transfer(kChunkBytes)) {
        ok = false;
        break;
      }
    }
  }
  if (!ok) {
    std::string why = stream->failure();
    if (stream->mismatch()) why += " at stream offset " + std::to_string(*stream->mismatch());
    return state.SkipWithError((why + "; " + world->describe()).c_str());
  }
  const Totals after = Totals::of(*world, *stream);
  const std::uint64_t bytes = after.bytes - before.bytes;
  const std::uint64_t segments = after.data_segments - before.data_segments;
  state.counters["bits_per_second"] = benchmark::Counter(8.0 * static_cast<double>(bytes), benchmark::Counter::kIsRate);
  state.counters["ns_per_segment"] = benchmark::Counter(static_cast<double>(segments),
                                                        benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["bytes_per_segment"] = per(bytes, segments);
  state.counters["acks_per_segment"] = per(after.answer_segments - before.answer_segments, segments);
  state.counters["allocs_per_segment"] = per(after.allocations - before.allocations, segments);
  state.counters["retransmissions"] = static_cast<double>(after.retransmissions - before.retransmissions);
  state.counters["pauses"] = static_cast<double>(after.pauses - before.pauses);
  state.counters["descheduled"] = static_cast<double>(after.descheduled - before.descheduled);
}

void BM_TcpRoundTrip(benchmark::State& state) {
  auto world = std::make_unique<TcpWorld<64 * 1024>>();
  if (world->failure() != nullptr) return state.SkipWithError(world->failure());
  auto exchange = std::make_unique<RoundTrip<64 * 1024>>(*world);
  bool ok = true;
  for (int i = 0; i < 100 && ok; ++i) ok = exchange->once();  // warm-up
  const std::uint64_t segments_before = world->a().tcp().counters().segments_sent + world->b().tcp().counters().segments_sent;
  const heap_probe::Counts heap_before = heap_probe::thread_counts();
  if (ok) {
    for (auto _ : state) {
      if (!exchange->once()) {
        ok = false;
        break;
      }
    }
  }
  if (!ok) return state.SkipWithError((std::string(exchange->failure()) + "; " + world->describe()).c_str());
  const heap_probe::Counts heap_after = heap_probe::thread_counts();
  const std::uint64_t trips = static_cast<std::uint64_t>(state.iterations());
  const std::uint64_t segments =
      world->a().tcp().counters().segments_sent + world->b().tcp().counters().segments_sent - segments_before;
  state.counters["segments_per_round_trip"] = per(segments, trips);
  state.counters["allocs_per_round_trip"] =
      per((heap_after.allocations - heap_before.allocations) + (heap_after.mallocs - heap_before.mallocs), trips);
}

// One line per buffer size (register_bulk<N>() below).
template <std::size_t kBufferBytes>
bool register_bulk() {
  const std::string name = "BM_TcpBulk/" + std::to_string(kBufferBytes);
  benchmark::RegisterBenchmark(name.c_str(), &bulk<kBufferBytes>)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark(name.c_str(), &bulk<kBufferBytes>)
      ->Iterations(1024)  // 1 GiB
      ->Unit(benchmark::kMicrosecond);
  return true;
}

[[maybe_unused]] const bool kRegistered64 = register_bulk<64 * 1024>();
[[maybe_unused]] const bool kRegistered256 = register_bulk<256 * 1024>();
// What RFC 7323's options cost: 64 KiB without window scaling and timestamps (each segment
// carries 12 bytes more data, and no timestamp is written or checked).
[[maybe_unused]] const auto* const kWithoutOptions =
    benchmark::RegisterBenchmark("BM_TcpBulk/65536/rfc7323_off", &bulk<64 * 1024, false>)->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_TcpRoundTrip)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace pollstack::bench

BENCHMARK_MAIN();
