// e. The async_trait desugaring: calling a node returns a heap-allocated poll object behind a
// virtual interface (Pin<Box<dyn Future>>). A parent creates each child when it gets to it,
// polls it through the interface, and frees it when done: 31 allocations per tree.
#include <memory>

#include "benchmarks/async_cost/make_table.h"
#include "benchmarks/async_cost/variants.h"
#include "statemachines/hosted/block_on.h"
#include "statemachines/state_cell.h"

namespace pollstack::async_cost {
namespace {

class BoxedPoll {
 public:
  using Output = std::uint64_t;
  virtual ~BoxedPoll() = default;
  virtual Poll<std::uint64_t> poll(Context& cx) = 0;
};

using Boxed = std::unique_ptr<BoxedPoll>;

template <unsigned V, unsigned Level>
Boxed boxed_node(std::uint64_t input, unsigned index);

template <unsigned V>
class BoxedLeaf final : public BoxedPoll {
 public:
  BoxedLeaf(std::uint64_t input, unsigned index) : input_(input), index_(index) {}

  Poll<std::uint64_t> poll(Context&) override {
    state_.expect_pollable();
    state_.set(State::Done);
    return leaf_value(input_, index_, variant_constant(V));
  }

 private:
  enum class State : std::uint8_t { Start, Done };
  static constexpr auto kTransitions = transitions(State::Start, {{State::Start, State::Done, "first poll"}});
  std::uint64_t input_;
  unsigned index_;
  StateCell<BoxedLeaf, &kTransitions> state_{State::Start};
};

template <unsigned V, unsigned Level>
class BoxedInner final : public BoxedPoll {
 public:
  BoxedInner(std::uint64_t input, unsigned index) : input_(input), index_(index) {}

  Poll<std::uint64_t> poll(Context& cx) override {
    state_.expect_pollable();
    switch (state_.get()) {
      case State::Start:
        child_ = boxed_node<V, Level + 1>(input_, 2 * index_);
        state_.set(State::PollingLeft);
        [[fallthrough]];
      case State::PollingLeft: {
        Poll<std::uint64_t> left = child_->poll(cx);
        if (left.is_pending()) return pending;
        left_value_ = left.value();
        child_ = boxed_node<V, Level + 1>(input_, 2 * index_ + 1);
        state_.set(State::PollingRight);
        [[fallthrough]];
      }
      case State::PollingRight: {
        Poll<std::uint64_t> right = child_->poll(cx);
        if (right.is_pending()) return pending;
        child_.reset();
        state_.set(State::Done);
        return combine(left_value_, right.value(), variant_constant(V));
      }
      case State::Done:
        break;
    }
    return pending;  // unreachable: expect_pollable() rejects Done
  }

 private:
  enum class State : std::uint8_t { Start, PollingLeft, PollingRight, Done };
  static constexpr auto kTransitions = transitions(State::Start, {
      {State::Start, State::PollingLeft, "left child made"},
      {State::PollingLeft, State::PollingRight, "left Ready: right child made"},
      {State::PollingRight, State::Done, "right Ready"},
  });
  std::uint64_t input_;
  unsigned index_;
  std::uint64_t left_value_ = 0;
  Boxed child_;
  StateCell<BoxedInner, &kTransitions> state_{State::Start};
};

template <unsigned V, unsigned Level>
Boxed boxed_node(std::uint64_t input, unsigned index) {
  if constexpr (Level == kLeafLevel) {
    return std::make_unique<BoxedLeaf<V>>(input, index);
  } else {
    return std::make_unique<BoxedInner<V, Level>>(input, index);
  }
}

template <unsigned V>
struct BoxedEntry {
  [[gnu::noinline, gnu::flatten]] static std::uint64_t run(std::uint64_t input) {
    Boxed tree = boxed_node<V, 0>(input, 0);
    return block_on(*tree);
  }
};

}  // namespace

const TreeTable kBoxedTrees = make_table<BoxedEntry>();

}  // namespace pollstack::async_cost
