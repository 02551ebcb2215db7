#include "tests/transition_recorder.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "statemachines/transition_trace.h"

namespace pollstack::testing {
namespace {

struct Machine {
  const MachineDescription* description = nullptr;
  const char* built_at = nullptr;  // the file where its cell's initial state is written
};

struct Taken {
  const MachineDescription* description = nullptr;
  std::string_view from;
  std::string_view to;
  const char* function = nullptr;
  const char* file = nullptr;
  unsigned line = 0;
};

// Open addressing; the keys are pointers into static storage, so equal keys are equal pointers.
constexpr std::size_t kMachines = 8192;  // benchmarks/async_cost builds thousands of types
constexpr std::size_t kTaken = 32768;
std::array<Machine, kMachines> g_machines;
std::array<Taken, kTaken> g_taken;
std::atomic_flag g_lock = ATOMIC_FLAG_INIT;
bool g_overflowed = false;
bool g_recording = false;

class Lock {
 public:
  Lock() noexcept {
    while (g_lock.test_and_set(std::memory_order_acquire)) {
    }
  }
  ~Lock() { g_lock.clear(std::memory_order_release); }
};

std::size_t mix(std::uintptr_t a, std::uintptr_t b) noexcept {
  std::uint64_t h = (static_cast<std::uint64_t>(a) * 0x9E3779B97F4A7C15u) ^ static_cast<std::uint64_t>(b);
  h ^= h >> 29;
  return static_cast<std::size_t>(h * 0xBF58476D1CE4E5B9u);
}

void on_machine(const MachineDescription& description, const SourceLocation& built_at) noexcept {
  Lock lock;
  for (std::size_t i = mix(reinterpret_cast<std::uintptr_t>(&description), 0), n = 0; n < kMachines; ++i, ++n) {
    Machine& slot = g_machines[i % kMachines];
    if (slot.description == &description) return;
    if (slot.description == nullptr) {
      slot = Machine{&description, built_at.file};
      return;
    }
  }
  g_overflowed = true;
}

void on_transition(const Transition& t) noexcept {
  const std::size_t hash = mix(reinterpret_cast<std::uintptr_t>(t.description),
                               reinterpret_cast<std::uintptr_t>(t.from.data()) * 31 +
                                   reinterpret_cast<std::uintptr_t>(t.to.data()) * 7 + t.where.line);
  Lock lock;
  for (std::size_t i = hash, n = 0; n < kTaken; ++i, ++n) {
    Taken& slot = g_taken[i % kTaken];
    if (slot.description == t.description && slot.from.data() == t.from.data() && slot.to.data() == t.to.data() &&
        slot.line == t.where.line && slot.file == t.where.file) {
      return;
    }
    if (slot.description == nullptr) {
      slot = Taken{t.description, t.from, t.to, t.where.function, t.where.file, t.where.line};
      return;
    }
  }
  g_overflowed = true;
}

// Names are the compiler's; none contains a tab or a newline.
void put(std::FILE* out, std::string_view text) { std::fwrite(text.data(), 1, text.size(), out); }

void put_list(std::FILE* out, std::span<const std::string_view> names) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) put(out, ",");
    put(out, names[i]);
  }
}

// One line per machine (M), per declared edge (E) and per transition taken (T), tab-separated.
bool write(const char* directory) {
  char path[4096];
  std::snprintf(path, sizeof path, "%s/transitions.tsv", directory);
  std::FILE* out = std::fopen(path, "w");
  if (out == nullptr) return false;
  for (const Machine& m : g_machines) {
    if (m.description == nullptr) continue;
    const MachineDescription& d = *m.description;
    put(out, "M\t");
    put(out, d.name);
    std::fprintf(out, "\t%s\t", m.built_at);
    put_list(out, d.initial);
    put(out, "\t");
    put_list(out, d.states);
    put(out, "\n");
    for (const MachineDescription::EdgeText& e : d.edges) {
      put(out, "E\t");
      put(out, d.name);
      put(out, "\t");
      put(out, e.from);
      put(out, "\t");
      put(out, e.to);
      put(out, "\t");
      put(out, e.event);
      put(out, "\n");
    }
  }
  for (const Taken& t : g_taken) {
    if (t.description == nullptr) continue;
    put(out, "T\t");
    put(out, t.description->name);
    put(out, "\t");
    put(out, t.from);
    put(out, "\t");
    put(out, t.to);
    std::fprintf(out, "\t%s\t%s:%u\n", t.function, t.file, t.line);
  }
  return std::fclose(out) == 0;
}

}  // namespace

void start_transition_recording() noexcept {
  if (!kTraceTransitions) return;
  const char* directory = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  if (directory == nullptr || *directory == '\0') return;
  g_recording = true;
  set_machine_observer(&on_machine);
  set_transition_observer(&on_transition);
}

bool finish_transition_recording() noexcept {
  if (!g_recording) return true;
  set_machine_observer(nullptr);
  set_transition_observer(nullptr);
  g_recording = false;
  if (g_overflowed) {
    std::fprintf(stderr, "transition recording: a table overflowed (%zu machines, %zu transitions at most)\n",
                 kMachines, kTaken);
    return false;
  }
  const char* directory = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  if (!write(directory)) {
    std::fprintf(stderr, "transition recording: cannot write %s/transitions.tsv\n", directory);
    return false;
  }
  return true;
}

}  // namespace pollstack::testing
