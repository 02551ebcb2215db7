#include "statemachines/transition_trace.h"

#include <atomic>

namespace pollstack {
namespace {
std::atomic<TransitionObserver> g_observer{nullptr};
std::atomic<MachineObserver> g_machine_observer{nullptr};
}  // namespace

TransitionObserver set_transition_observer(TransitionObserver observer) noexcept {
  return g_observer.exchange(observer, std::memory_order_acq_rel);
}

MachineObserver set_machine_observer(MachineObserver observer) noexcept {
  return g_machine_observer.exchange(observer, std::memory_order_acq_rel);
}

namespace internal {
void report_transition(const Transition& transition) noexcept {
  if (TransitionObserver observer = g_observer.load(std::memory_order_acquire)) {
    observer(transition);
  }
}

void report_machine(const MachineDescription& description, const SourceLocation& built_at) noexcept {
  if (MachineObserver observer = g_machine_observer.load(std::memory_order_acquire)) {
    observer(description, built_at);
  }
}
}  // namespace internal

}  // namespace pollstack
