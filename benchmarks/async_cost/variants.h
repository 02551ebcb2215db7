#pragma once
// The five implementations of the same tree, each a table of 512 entry points (one per variant).

#include <cstddef>
#include <cstdint>

#include "benchmarks/async_cost/frame_arena.h"
#include "benchmarks/async_cost/tree_spec.h"

namespace pollstack::async_cost {

// a. plain functions.
extern const TreeTable kSyncTrees;

// b. one hand-written poll struct per node, children by value; the tree is one nested object.
extern const TreeTable kStateMachineTrees;
extern const std::size_t kStateMachineTreeBytes;  // sizeof the root (variant 0; all are equal)

// c. C++20 lazy tasks with symmetric transfer, frames on the default heap.
extern const TreeTable kCoroutineTrees;

// d. the same tasks with frames from the calling thread's FrameArena (no heap). Allocation failure
// does not throw: the missing subtree counts as 0, so the result is meaningless, and the arena
// counts the failure for the caller to check (see frame_arena.h).
extern const TreeTable kArenaCoroutineTrees;

// e. every node returns a heap-allocated, type-erased poll object behind a virtual interface:
// the async_trait desugaring.
extern const TreeTable kBoxedTrees;

}  // namespace pollstack::async_cost
