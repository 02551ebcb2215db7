#include "statemachines/contract.h"

#include <cstdio>
#include <cstdlib>

namespace pollstack {

// Formatted on the stack and written with one fwrite: no allocation, and only the C library.
// Weak: a firmware image supplies its own (tools/firmware/board.cc: no stdio, which would bring
// newlib's heap in), and this one is then not linked.
[[gnu::weak]] void contract_violated(const char* what, const SourceLocation& where) noexcept {
  char message[512];
  const int n = std::snprintf(message, sizeof message, "pollstack: contract violated: %s\n  at %s:%u (%s)\n",
                              what, where.file, where.line, where.function);
  if (n > 0) {
    const std::size_t length = static_cast<std::size_t>(n) < sizeof message ? static_cast<std::size_t>(n)
                                                                           : sizeof message - 1;
    std::fwrite(message, 1, length, stderr);
  }
  std::abort();
}

}  // namespace pollstack
