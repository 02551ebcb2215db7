#include "statemachines/contract.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace pollstack {

// snprintf into the stack and write(2): no allocation, no stdio lock, and (unlike fprintf) both
// are declared non-throwing, so this noexcept function needs no exception tables.
void contract_violated(const char* what, const SourceLocation& where) noexcept {
  char message[512];
  const int n = std::snprintf(message, sizeof message, "pollstack: contract violated: %s\n  at %s:%u (%s)\n",
                              what, where.file, where.line, where.function);
  if (n > 0) {
    const std::size_t length = static_cast<std::size_t>(n) < sizeof message ? static_cast<std::size_t>(n)
                                                                           : sizeof message - 1;
    [[maybe_unused]] const ssize_t written = write(STDERR_FILENO, message, length);
  }
  std::abort();
}

}  // namespace pollstack
