// doctest's main, with the transition recording of a `--config=trace` build around the tests
// (tests/transition_recorder.h; nothing in other builds).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "tests/transition_recorder.h"

int main(int argc, char** argv) {
  pollstack::testing::start_transition_recording();
  doctest::Context context(argc, argv);
  const int result = context.run();
  const bool recorded = pollstack::testing::finish_transition_recording();
  if (context.shouldExit()) return result;
  return result != 0 ? result : (recorded ? 0 : 1);
}
