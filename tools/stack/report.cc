#include "tools/stack/report.h"

#include <cinttypes>
#include <algorithm>
#include <cstdarg>
#include <string_view>

namespace pollstack::tools {
namespace {

template <class Counters>
void reasons(TextBuffer& out, const char* what, const Counters& counters) {
  counters.for_each([&](std::string_view name, std::uint64_t count) {
    if (count > 0) out.printf("  %s.%.*s=%" PRIu64 "\n", what, static_cast<int>(name.size()), name.data(), count);
  });
}

void value(TextBuffer& out, const char* name, std::uint64_t v) { out.printf("  %s=%" PRIu64 "\n", name, v); }

void format_counters(TextBuffer& out, HostStack& stack);

}  // namespace

void TextBuffer::printf(const char* format, ...) noexcept {
  if (out_.size() - used_ < 2) {  // no room for a character and its NUL
    truncated_ = true;
    return;
  }
  std::va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(out_.data() + used_, out_.size() - used_, format, args);
  va_end(args);
  if (n < 0) return;
  // vsnprintf writes at most size - 1 characters and a NUL: a cut-off text ends one short of the
  // buffer, and the NUL is not part of it.
  const std::size_t room = out_.size() - used_;
  truncated_ |= static_cast<std::size_t>(n) >= room;
  used_ += std::min(static_cast<std::size_t>(n), room - 1);
}

std::size_t format_stack_counters(std::span<char> out, HostStack& stack) {
  TextBuffer text(out);
  format_counters(text, stack);
  return text.size();
}

void print_stack_counters(std::FILE* out, HostStack& stack) {
  static char buffer[32 * 1024];
  const std::size_t n = format_stack_counters(buffer, stack);
  std::fwrite(buffer, 1, n, out);
  std::fflush(out);
}

namespace {

void format_counters(TextBuffer& out, HostStack& stack) {
  const auto& ch = stack.ethernet().channel().counters();
  out.printf("channel:\n");
  value(out, "tx_submitted", ch.tx_submitted);
  value(out, "tx_completed", ch.tx_completed);
  value(out, "tx_pending", ch.tx_pending);
  value(out, "rx_received", ch.rx_received);
  value(out, "link_downs", ch.link_downs);
  const auto& eth = stack.ethernet().counters();
  out.printf("ethernet:\n");
  value(out, "frames_received", eth.frames_received);
  value(out, "frames_built", eth.frames_built);
  reasons(out, "malformed", eth.malformed);
  reasons(out, "dropped", eth.dropped);
  const auto& arp = stack.arp().counters();
  const auto& nc = stack.arp().neighbours().counters();
  out.printf("arp:\n");
  value(out, "requests_received", arp.requests_received);
  value(out, "replies_received", arp.replies_received);
  value(out, "requests_sent", nc.requests_sent);
  value(out, "resolved", nc.resolved);
  value(out, "failed", nc.failed);
  value(out, "expired", nc.expired);
  reasons(out, "malformed", arp.malformed);
  value(out, "replies_sent", arp.replies_sent);
  reasons(out, "dropped", arp.dropped);
  reasons(out, "not_sent", arp.not_sent);
  const auto& ip = stack.ipv4().counters();
  out.printf("ipv4:\n");
  value(out, "packets_received", ip.packets_received);
  value(out, "packets_built", ip.packets_built);
  reasons(out, "malformed", ip.malformed);
  reasons(out, "dropped", ip.dropped);
  reasons(out, "send_errors", ip.send_errors);
  const auto& icmp = stack.icmp().counters();
  out.printf("icmp:\n");
  value(out, "echo_requests_received", icmp.echo_requests_received);
  value(out, "echo_replies_received", icmp.echo_replies_received);
  value(out, "unreachables_received", icmp.unreachables_received);
  value(out, "echo_replies_sent", icmp.echo_replies_sent);
  value(out, "unreachables_sent", icmp.unreachables_sent);
  value(out, "errors_rate_limited", icmp.errors_rate_limited);
  value(out, "errors_to_broadcast_suppressed", icmp.errors_to_broadcast_suppressed);
  reasons(out, "malformed", icmp.malformed);
  reasons(out, "dropped", icmp.dropped);
  reasons(out, "answers_not_sent", icmp.answers_not_sent);
  const auto& udp = stack.udp().counters();
  out.printf("udp:\n");
  value(out, "datagrams_queued", udp.datagrams_queued);
  value(out, "datagrams_read", udp.datagrams_read);
  value(out, "datagrams_sent", udp.datagrams_sent);
  value(out, "send_pending", udp.send_pending);
  reasons(out, "malformed", udp.malformed);
  reasons(out, "dropped", udp.dropped);
  reasons(out, "send_errors", udp.send_errors);
  const auto& tcp = stack.tcp().counters();
  out.printf("tcp:\n");
  value(out, "segments_received", tcp.segments_received);
  value(out, "segments_sent", tcp.segments_sent);
  value(out, "retransmissions", tcp.retransmissions);
  value(out, "fast_retransmits", tcp.fast_retransmits);
  value(out, "sack_retransmits", tcp.sack_retransmits);
  value(out, "sack_blocks_ignored", tcp.sack_blocks_ignored);
  value(out, "timestamp_rtt_samples", tcp.timestamp_rtt_samples);
  value(out, "out_of_order_kept", tcp.out_of_order_kept);
  value(out, "zero_window_probes", tcp.zero_window_probes);
  value(out, "resets_sent", tcp.resets_sent);
  value(out, "resets_received", tcp.resets_received);
  value(out, "challenge_acks", tcp.challenge_acks);
  value(out, "active_opens", tcp.active_opens);
  value(out, "passive_opens", tcp.passive_opens);
  value(out, "established", tcp.established);
  value(out, "timeouts", tcp.timeouts);
  value(out, "time_wait_recycled", tcp.time_wait_recycled);
  value(out, "write_pending", tcp.write_pending);
  reasons(out, "malformed", tcp.malformed);
  reasons(out, "dropped", tcp.dropped);
  reasons(out, "send_errors", tcp.send_errors);
  const auto& iface = stack.counters();
  out.printf("interface:\n");
  value(out, "frames_processed", iface.frames_processed);
  value(out, "packets_transmitted", iface.packets_transmitted);
  value(out, "polls_yielded", iface.polls_yielded);
  value(out, "transport_errors_unclaimed", iface.transport_errors_unclaimed);
}

}  // namespace

}  // namespace pollstack::tools
