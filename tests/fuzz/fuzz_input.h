#pragma once
// Shared by the libFuzzer harnesses: the input as bytes, and a check that aborts (a finding)
// when an invariant fails. Built by tools/fuzz.sh with clang, outside Bazel.
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <span>

namespace pollstack::fuzz {

inline std::span<const std::byte> bytes(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

inline void require(bool ok, const char* invariant) {
  if (!ok) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", invariant);
    std::abort();
  }
}

}  // namespace pollstack::fuzz
