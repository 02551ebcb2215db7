#pragma once
// Every counter of a stack, layer by layer, with drop reasons by name (zero reasons are left out,
// so what is printed is what happened): printed (SIGUSR1, the end of a run) or formatted into a
// buffer (the HTTP page). Hosted tools only (stdio); no allocation.
#include <cstddef>
#include <cstdio>
#include <span>

#include "tools/stack/host_stack.h"

namespace pollstack::tools {

/// Text appended to a caller's buffer; what does not fit is cut off (and remembered).
class TextBuffer {
 public:
  explicit TextBuffer(std::span<char> out) noexcept : out_(out) {}
  [[gnu::format(printf, 2, 3)]] void printf(const char* format, ...) noexcept;
  std::size_t size() const noexcept { return used_; }
  bool truncated() const noexcept { return truncated_; }

 private:
  std::span<char> out_;
  std::size_t used_ = 0;
  bool truncated_ = false;
};

void print_stack_counters(std::FILE* out, HostStack& stack);
/// The same text into `out` (cut off if it does not fit); returns its length.
std::size_t format_stack_counters(std::span<char> out, HostStack& stack);

}  // namespace pollstack::tools
