#pragma once
/// Contract checks for misuse of the poll vocabulary (polling a finished machine, waking through an
/// empty waker slot...). Misuse is a bug in the caller, not an input error, so it is loud: in debug
/// builds (NDEBUG not defined) a violated contract prints where and why and aborts. In release
/// builds the check compiles to nothing and the condition is not evaluated for side effects.

namespace pollstack {

/// Where a contract check was written. Like std::source_location, but built on compiler builtins
/// that both g++ and clang 14 provide (clang 14 with libstdc++ has no std::source_location).
struct SourceLocation {
  const char* file = "";
  unsigned line = 0;
  const char* function = "";

  static constexpr SourceLocation current(const char* file = __builtin_FILE(), unsigned line = __builtin_LINE(),
                                          const char* function = __builtin_FUNCTION()) noexcept {
    return SourceLocation{file, line, function};
  }
};

#ifdef NDEBUG
inline constexpr bool kContractChecks = false;
#else
inline constexpr bool kContractChecks = true;
#endif

/// Prints "contract violated: <what> at file:line (function)" to stderr and aborts. Never returns.
/// Out of line so that the check in every poll() stays one compare and one cold branch. A program
/// may define its own (the firmware does: its console and its way to stop); contract.cc's is weak.
[[noreturn, gnu::cold]] void contract_violated(const char* what, const SourceLocation& where) noexcept;

/// Aborts through contract_violated() when `ok` is false, in debug builds only.
constexpr void expect(bool ok, const char* what,
                      const SourceLocation& where = SourceLocation::current()) {
  if constexpr (kContractChecks) {
    if (!ok) [[unlikely]] {
      contract_violated(what, where);
    }
  }
}

}  // namespace pollstack
