#pragma once
// Calls a continuation with a finished machine's output, treating a void output as "no argument".
// Not API: used by map.h and then.h.

#include <type_traits>
#include <utility>

#include "statemachines/poll.h"

namespace pollstack::internal {

template <class F, class T>
struct ContinuationResult {
  using type = std::invoke_result_t<F&, T>;
};
template <class F>
struct ContinuationResult<F, void> {
  using type = std::invoke_result_t<F&>;
};
template <class F, class T>
using ContinuationResultT = typename ContinuationResult<F, T>::type;

template <class F, class T>
constexpr decltype(auto) call_with_output(F& fn, Poll<T>&& done) {
  if constexpr (std::is_void_v<T>) {
    return fn();
  } else {
    return fn(std::move(done).value());
  }
}

}  // namespace pollstack::internal
