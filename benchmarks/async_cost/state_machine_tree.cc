// b. Hand-written poll state machines: each node is a struct holding its children by value, so the
// whole tree is one object of fixed size, and polling it is ordinary inlinable code.
#include "benchmarks/async_cost/make_table.h"
#include "benchmarks/async_cost/variants.h"
#include "statemachines/hosted/block_on.h"
#include "statemachines/state_cell.h"
#include "statemachines/state_machine.h"

namespace pollstack::async_cost {
namespace {

template <unsigned V, unsigned Level>
class TreeNode {
 public:
  using Output = std::uint64_t;

  TreeNode(std::uint64_t input, unsigned index) : left_(input, 2 * index), right_(input, 2 * index + 1) {}

  Poll<std::uint64_t> poll(Context& cx) {
    state_.expect_pollable();
    if (state_.get() == State::PollingLeft) {
      Poll<std::uint64_t> left = left_.poll(cx);
      if (left.is_pending()) return pending;
      left_value_ = left.value();
      state_.set(State::PollingRight);
    }
    Poll<std::uint64_t> right = right_.poll(cx);  // State::PollingRight
    if (right.is_pending()) return pending;
    state_.set(State::Done);
    return combine(left_value_, right.value(), variant_constant(V));
  }

 private:
  enum class State : std::uint8_t { PollingLeft, PollingRight, Done };
  static constexpr auto kTransitions = transitions(State::PollingLeft, {
      {State::PollingLeft, State::PollingRight, "left Ready"},
      {State::PollingRight, State::Done, "right Ready"},
  });

  TreeNode<V, Level + 1> left_;
  TreeNode<V, Level + 1> right_;
  std::uint64_t left_value_ = 0;
  StateCell<TreeNode, &kTransitions> state_{State::PollingLeft};
};

template <unsigned V>
class TreeNode<V, kLeafLevel> {
 public:
  using Output = std::uint64_t;

  TreeNode(std::uint64_t input, unsigned index) : input_(input), index_(index) {}

  Poll<std::uint64_t> poll(Context&) {
    state_.expect_pollable();
    state_.set(State::Done);
    return leaf_value(input_, index_, variant_constant(V));
  }

 private:
  enum class State : std::uint8_t { Start, Done };
  static constexpr auto kTransitions = transitions(State::Start, {{State::Start, State::Done, "first poll"}});

  std::uint64_t input_;
  unsigned index_;
  StateCell<TreeNode, &kTransitions> state_{State::Start};
};

static_assert(StateMachine<TreeNode<0, 0>>);

template <unsigned V>
struct StateMachineEntry {
  [[gnu::noinline, gnu::flatten]] static std::uint64_t run(std::uint64_t input) {
    TreeNode<V, 0> tree(input, 0);
    return block_on(tree);
  }
};

}  // namespace

const TreeTable kStateMachineTrees = make_table<StateMachineEntry>();
const std::size_t kStateMachineTreeBytes = sizeof(TreeNode<0, 0>);

}  // namespace pollstack::async_cost
