#!/bin/sh
# The README's test command: installs every dependency, builds with warnings as
# errors, runs every test (unit, then e2e against local test hosts; BERTH_TEST_JOBS at
# a time, default 2: two of them keep two cores busy) with CTest, then
# builds berth and the unit tests with AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer included) and runs the unit tests and the many-hosts exec test with
# them (no leak, no fd or thread left) while it fuzzes the manifest loader for a minute
# (tests/fuzz/run.sh). Needs root (apt-get, systemd-nspawn).
# Extra arguments go to ctest (e.g. -L unit, -R converge).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BERTH_BUILD_DIR=${BERTH_BUILD_DIR:-build} scripts/build.sh -DBERTH_WERROR=ON
(cd "${BERTH_BUILD_DIR:-build}" && ctest --output-on-failure -j "${BERTH_TEST_JOBS:-2}" "$@")

if [ $# -eq 0 ]; then
  echo "== with sanitizers: the unit tests, and berth's exec across 20 hosts"
  cmake -S . -B build-asan -DENABLE_SANITIZERS=ON -DBERTH_BUILD_TESTS=ON \
    -DCMAKE_BUILD_TYPE=Debug $(command -v ninja >/dev/null 2>&1 && echo -G Ninja) >/dev/null
  cmake --build build-asan -j "$(nproc)" --target berth berth_unit
  # The fuzzer (below) runs meanwhile: the unit tests and the exec test use one core.
  fuzz_log=$(mktemp)
  tests/fuzz/run.sh "${BERTH_FUZZ_SECONDS:-60}" >"$fuzz_log" 2>&1 &
  fuzz_pid=$!
  unit=0
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 build-asan/tests/berth_unit || unit=1
  status=0
  BERTH=$PWD/build-asan/berth BERTH_SOURCE_DIR=$PWD bash tests/e2e/test_exec_fleet.sh || status=$?
  BERTH=$PWD/build/berth BERTH_SOURCE_DIR=$PWD bash tests/e2e/fixture_cleanup.sh >/dev/null
  case $status in
    0) fleet="1 passed, 0 failed" ;;
    77) fleet="0 passed, 0 failed, 1 skipped" ;;
    *) fleet="0 passed, 1 failed" ;;
  esac
  echo "sanitizers: unit tests $([ $unit = 0 ] && echo passed || echo FAILED); exec across 20 hosts: $fleet"
  # The manifest loader on random and mutated input, seeded with the examples and the
  # inputs that once crashed it: no crash, leak or hang (BERTH_FUZZ_SECONDS, default 60).
  fuzz=0
  wait "$fuzz_pid" || fuzz=$?
  cat "$fuzz_log"
  rm -f "$fuzz_log"
  [ $unit = 0 ] && { [ $status = 0 ] || [ $status = 77 ]; } || exit 1
  [ $fuzz = 0 ] || [ $fuzz = 77 ] || exit 1
fi
