// c. Coroutines with frames on the default heap.
#include "benchmarks/async_cost/coroutine_tree.h"

#include "benchmarks/async_cost/make_table.h"
#include "benchmarks/async_cost/variants.h"

namespace pollstack::async_cost {

const TreeTable kCoroutineTrees = make_table<CoroutineEntry<HeapFrames>::For>();

}  // namespace pollstack::async_cost
