#pragma once
// Prints every counter of a stack, layer by layer, with drop reasons by name (zero reasons are
// left out, so what is printed is what happened). Hosted tools only (stdio).
#include <cstdio>

#include "driver_channel/stack.h"

namespace pollstack::tools {

void print_stack_counters(std::FILE* out, net::Stack& stack);

}  // namespace pollstack::tools
