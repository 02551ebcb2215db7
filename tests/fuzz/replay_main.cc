// Replays fuzz inputs through a harness's LLVMFuzzerTestOneInput without libFuzzer: every file
// named on the command line, once. Linked with each harness into a Bazel test over its regression
// corpus (tests/fuzz/regressions/<harness>/), so a once-found crash is checked on every test run,
// in the default configuration and under ASan and UBSan. A harness signals a finding by aborting.
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size);

int main(int argc, char** argv) {
  int replayed = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "replay: cannot read %s\n", argv[i]);
      return 1;
    }
    const std::vector<unsigned char> input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(input.data(), input.size());
    std::printf("replayed %s (%zu bytes)\n", argv[i], input.size());
    ++replayed;
  }
  std::printf("%d inputs replayed, no finding\n", replayed);
  return 0;
}
