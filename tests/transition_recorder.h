#pragma once
// Transition coverage for the test suite. In a build with tracing compiled in
// (`bazel test --config=trace`), every test binary records which machines it built and which of
// their transitions it took, and writes them to Bazel's undeclared-outputs directory as
// transitions.tsv when its tests are over; tools/diagrams/diagrams.py merges the files of all the
// tests into the coverage table and the diagrams' marks. In other builds it does nothing.
//
// The observers run inside poll(), on any thread: the record is two fixed tables behind a spin
// lock, no allocation (no_heap_test counts them).

namespace pollstack::testing {

// Installs the observers when tracing is compiled in and TEST_UNDECLARED_OUTPUTS_DIR is set.
void start_transition_recording() noexcept;

// Writes what was recorded (if recording) and uninstalls the observers. False if the file could
// not be written or a table overflowed (the count is then incomplete: the caller fails the run).
bool finish_transition_recording() noexcept;

}  // namespace pollstack::testing
