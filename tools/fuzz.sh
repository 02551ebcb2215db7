#!/usr/bin/env bash
# Builds the libFuzzer harnesses in tests/fuzz/ with clang (ASan + UBSan) and runs each one.
#   tools/fuzz.sh                 a short run of each harness (what tools/test.sh does)
#   tools/fuzz.sh --runs N        N executions per harness (e.g. 10000000 for a long run)
#   tools/fuzz.sh --seconds S     S seconds per harness
# Seeds come from tests/fuzz/make_seeds.py and tests/fuzz/regressions/<harness>/ (past findings,
# which `bazel test` also replays); new findings (crash-*) land in out/fuzz/<harness>/: move one
# into tests/fuzz/regressions/<harness>/ once its bug is fixed.
# Exits non-zero if any harness finds anything.
set -euo pipefail
cd "$(dirname "$0")/.."

limit="-runs=200000"
case "${1:-}" in
  "") ;;
  --runs) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --runs needs a number" >&2; exit 2; }; limit="-runs=$2" ;;
  --seconds) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --seconds needs a number" >&2; exit 2; }; limit="-max_total_time=$2" ;;
  *) echo "fuzz.sh: unknown argument '$1' (use --runs N or --seconds S)" >&2; exit 2 ;;
esac

out=out/fuzz
mkdir -p "$out/bin"
python3 tests/fuzz/make_seeds.py "$out/seeds"
status=0
for source in tests/fuzz/*_fuzz.cc; do
  harness=$(basename "$source" .cc)
  clang++ -std=c++20 -O1 -g -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -o "$out/bin/$harness" "$source" statemachines/contract.cc
  mkdir -p "$out/$harness/corpus"
  # Past findings (tests/fuzz/regressions/<harness>/, also replayed by `bazel test`) seed the run.
  regressions=()
  if [[ -d "tests/fuzz/regressions/$harness" ]]; then regressions=("$PWD/tests/fuzz/regressions/$harness"); fi
  if (cd "$out/$harness" && "../bin/$harness" corpus "../seeds/$harness" "${regressions[@]}" "$limit" -print_final_stats=1 \
        > log.txt 2>&1); then
    echo "fuzz: $harness ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$out/$harness/log.txt" | grep -o '[0-9]*$') executions)"
  else
    echo "fuzz: $harness FOUND A PROBLEM; see $out/$harness/log.txt and crash-* there"
    tail -20 "$out/$harness/log.txt"
    status=1
  fi
done
exit $status
