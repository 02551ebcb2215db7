// d. Coroutines with frames from the thread's FrameArena: no heap.
#include "benchmarks/async_cost/coroutine_tree.h"
#include "benchmarks/async_cost/make_table.h"
#include "benchmarks/async_cost/variants.h"

namespace pollstack::async_cost {

const TreeTable kArenaCoroutineTrees = make_table<CoroutineEntry<ArenaFrames>::For>();

}  // namespace pollstack::async_cost
