#!/bin/sh
# The README's test command: installs every dependency, builds with warnings as
# errors, runs every test (unit, then e2e against local test hosts) with CTest, then
# runs the unit tests and the many-hosts exec test again with berth built with
# AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included: no leak, no fd
# or thread left) while it fuzzes the manifest loader for a minute (tests/fuzz/run.sh).
# The sanitized build and the fuzzer's are made while CTest runs. Needs root (apt-get,
# systemd-nspawn).
# Extra arguments go to ctest (e.g. -L unit, -R converge).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BERTH_BUILD_DIR=${BERTH_BUILD_DIR:-build} scripts/build.sh -DBERTH_WERROR=ON

# The sanitized build and the fuzzer's are made while CTest runs, at the lowest CPU
# priority: they take the time the end-to-end tests spend waiting on their hosts
# (apt, systemd, sleeps), and yield the CPU whenever a test wants it. In a session of
# their own whose autogroup is niced too: with autogroup scheduling (Debian's kernels)
# a process's nice counts only within its session, and the test hosts' processes run
# in sessions of their own.
late_log=$(mktemp)
late_pid=
if [ $# -eq 0 ]; then
  # shellcheck disable=SC2016 # expanded by the inner sh
  nice -n 19 setsid -w sh -c '
    echo 19 2>/dev/null >/proc/self/autogroup || true
    cmake -S . -B build-asan -DENABLE_SANITIZERS=ON -DBERTH_BUILD_TESTS=ON \
      -DCMAKE_BUILD_TYPE=Debug $(command -v ninja >/dev/null 2>&1 && echo -G Ninja) >/dev/null &&
    cmake --build build-asan -j "$(nproc)" --target berth berth_unit &&
    tests/fuzz/run.sh --build-only' >"$late_log" 2>&1 &
  late_pid=$!
fi
tested=0
(cd "${BERTH_BUILD_DIR:-build}" && ctest --output-on-failure "$@") || tested=$?
if [ -n "$late_pid" ]; then
  built=0
  wait "$late_pid" || built=$?
  if [ $tested -ne 0 ] || [ $built -ne 0 ]; then
    [ $built -eq 0 ] || { cat "$late_log"; echo "the sanitized or the fuzz build failed"; }
    rm -f "$late_log"
    exit 1
  fi
fi
rm -f "$late_log"
[ $tested -eq 0 ] || exit "$tested"

if [ $# -eq 0 ]; then
  echo "== with sanitizers: the unit tests, and berth's exec across 20 hosts"
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
