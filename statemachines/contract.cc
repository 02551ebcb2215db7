#include "statemachines/contract.h"

#include <cstdio>
#include <cstdlib>

namespace pollstack {

// fputs/fprintf on stderr: unbuffered, so no allocation on the way to abort().
void contract_violated(const char* what, const std::source_location& where) {
  std::fprintf(stderr, "pollstack: contract violated: %s\n  at %s:%u (%s)\n", what,
               where.file_name(), static_cast<unsigned>(where.line()), where.function_name());
  std::abort();
}

}  // namespace pollstack
