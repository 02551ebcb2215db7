#pragma once
/// The iperf3 control protocol, as esnet's iperf3 (3.x, Debian's 3.12) speaks it, for the server
/// side (iperf3_server.h). There is no RFC; this is the behaviour of iperf3's own server:
///
///   client                                   server (TCP port 5201)
///   control connection, then a 37-byte cookie (36 characters and a NUL) -->
///                                            <-- PARAM_EXCHANGE (one signed byte, 9)
///   4-byte big-endian length, then JSON parameters
///     {"tcp":true,"time":10,"parallel":1,"reverse":true,"len":131072,...} -->
///                                            <-- CREATE_STREAMS (10)
///   `parallel` data connections, each sending the cookie first -->
///                                            <-- TEST_START (1), TEST_RUNNING (2)
///   data: client to server, or server to client with "reverse"
///   TEST_END (4) when the client's time (or byte count) is up -->
///                                            <-- EXCHANGE_RESULTS (13)
///   length + JSON of the client's results -->
///                                            <-- length + JSON of ours, DISPLAY_RESULTS (14)
///   IPERF_DONE (16), or CLIENT_TERMINATE (12) at any time -->
///
/// A server busy with a test answers any other connection with ACCESS_DENIED (-1) and closes it;
/// a test it cannot run is answered SERVER_ERROR (-2) followed by iperf3's error number and an
/// errno, 4 bytes each, big-endian. Stream ids: iperf3 numbers streams 1, 3, 4, 5... (its
/// iperf_add_stream starts counting the second at 3), and the results name them so.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "layers/services/json.h"

namespace pollstack::net::iperf3 {

inline constexpr std::uint16_t kDefaultPort = 5201;
inline constexpr std::size_t kCookieBytes = 37;

/// The control messages: one signed byte each.
enum class Message : std::int8_t {
  kTestStart = 1,
  kTestRunning = 2,
  kTestEnd = 4,
  kParamExchange = 9,
  kCreateStreams = 10,
  kServerTerminate = 11,
  kClientTerminate = 12,
  kExchangeResults = 13,
  kDisplayResults = 14,
  kIperfStart = 15,
  kIperfDone = 16,
  kAccessDenied = -1,
  kServerError = -2,
};

constexpr std::byte byte_of(Message m) noexcept { return static_cast<std::byte>(static_cast<std::int8_t>(m)); }

/// iperf3's error numbers (its iperf_api.h) that this server sends with SERVER_ERROR; the client
/// prints its own text for them.
enum class ErrorNumber : std::int32_t {
  kNumStreams = 6,  // IENUMSTREAMS: "number of parallel streams too large"
  kUnimplemented = 13,  // IEUNIMP: "an option you are trying to set is not implemented yet"
};

/// What a test asks for, from the client's parameters.
struct TestParams {
  bool reverse = false;           // the server sends
  std::uint32_t streams = 1;      // "parallel"
  std::uint32_t duration_s = 10;  // "time": the client ends the test (0: by bytes or blocks)
  std::uint32_t omit_s = 0;       // "omit": seconds the client leaves out of its figures
  std::uint64_t bytes = 0;        // "num", or "blockcount" x "len": a sender stops after this many (0: no limit)
};

/// Why parameters were refused: not JSON (the connection is closed), or a test this server does
/// not run (answered SERVER_ERROR with `error_number`).
enum class ParamsError : std::uint8_t { kMalformed, kNotTcp, kBidirectional, kTooManyStreams };

inline constexpr ErrorNumber error_number(ParamsError e) noexcept {
  return e == ParamsError::kTooManyStreams ? ErrorNumber::kNumStreams : ErrorNumber::kUnimplemented;
}

/// Reads the client's parameter JSON. `max_streams`: the most data connections this server
/// holds. UDP and SCTP tests, and bidirectional ones, are refused.
inline std::optional<TestParams> parse_params(std::string_view text, std::uint32_t max_streams,
                                              ParamsError* why) noexcept {
  const std::optional<JsonObject> j = JsonObject::parse(text);
  auto fail = [why](ParamsError e) {
    *why = e;
    return std::optional<TestParams>();
  };
  if (!j) return fail(ParamsError::kMalformed);
  if (j->boolean("udp").value_or(false) || j->boolean("sctp").value_or(false) || !j->boolean("tcp").value_or(true)) {
    return fail(ParamsError::kNotTcp);
  }
  if (j->boolean("bidirectional").value_or(false)) return fail(ParamsError::kBidirectional);
  TestParams p;
  p.reverse = j->boolean("reverse").value_or(false);
  const std::int64_t parallel = j->integer("parallel").value_or(1);
  if (parallel < 1 || parallel > static_cast<std::int64_t>(max_streams)) return fail(ParamsError::kTooManyStreams);
  p.streams = static_cast<std::uint32_t>(parallel);
  auto seconds = [](std::optional<std::int64_t> v, std::uint32_t fallback) {
    return v && *v >= 0 && *v <= 86400 ? static_cast<std::uint32_t>(*v) : fallback;
  };
  p.duration_s = seconds(j->integer("time"), 10);
  p.omit_s = seconds(j->integer("omit"), 0);
  const std::int64_t num = j->integer("num").value_or(0);
  const std::int64_t blocks = j->integer("blockcount").value_or(0);
  const std::int64_t len = j->integer("len").value_or(0);
  if (num > 0) {
    p.bytes = static_cast<std::uint64_t>(num);
  } else if (blocks > 0 && len > 0 && blocks <= (std::int64_t{1} << 31) && len <= (std::int64_t{1} << 30)) {
    p.bytes = static_cast<std::uint64_t>(blocks) * static_cast<std::uint64_t>(len);
  }
  return p;
}

/// The id iperf3 gives the stream opened `index`-th (from 0): 1, 3, 4, 5...
constexpr std::int64_t stream_id(std::size_t index) noexcept {
  return index == 0 ? 1 : static_cast<std::int64_t>(index) + 2;
}

/// One stream's part of the results.
struct StreamResult {
  std::uint64_t bytes = 0;  // received, or sent with "reverse"
};

/// The server's results JSON, as iperf3's send_results writes it for a TCP test: CPU use (not
/// measured here: 0), whether the sender counts retransmissions (per-connection counts are not
/// kept: 0, and -1 per stream, which iperf3 prints as unknown), the congestion control used, and
/// each stream's bytes over the time it ran (`elapsed_us`, from TEST_START to TEST_END). Returns
/// the bytes written, or 0 if `out` was too small.
inline std::size_t format_results(std::span<char> out, std::span<const StreamResult> streams,
                                  std::uint64_t elapsed_us, std::string_view congestion) noexcept {
  JsonWriter w(out);
  w.begin_object();
  w.key("cpu_util_total").value(std::int64_t{0});
  w.key("cpu_util_user").value(std::int64_t{0});
  w.key("cpu_util_system").value(std::int64_t{0});
  w.key("sender_has_retransmits").value(std::int64_t{0});
  w.key("congestion_used").value(congestion);
  w.key("streams").begin_array();
  for (std::size_t i = 0; i < streams.size(); ++i) {
    w.begin_object();
    w.key("id").value(stream_id(i));
    w.key("bytes").value(static_cast<std::int64_t>(streams[i].bytes));
    w.key("retransmits").value(std::int64_t{-1});
    w.key("jitter").value(std::int64_t{0});
    w.key("errors").value(std::int64_t{0});
    w.key("omitted_errors").value(std::int64_t{0});
    w.key("packets").value(std::int64_t{0});
    w.key("start_time").value(std::int64_t{0});
    w.key("end_time").decimal(elapsed_us, 6);  // seconds: iperf3 reads a double
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.ok() ? w.size() : 0;
}

}  // namespace pollstack::net::iperf3
