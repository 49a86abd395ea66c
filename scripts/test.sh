#!/bin/sh
# The README's test command: installs every dependency, builds with warnings as
# errors, runs every test (unit, then e2e against local test hosts) with CTest, then
# builds berth with AddressSanitizer + LeakSanitizer and runs the many-hosts exec test
# with it (no leak, no fd or thread left). Needs root (apt-get, systemd-nspawn).
# Extra arguments go to ctest (e.g. -L unit, -R converge).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BERTH_BUILD_DIR=${BERTH_BUILD_DIR:-build} scripts/build.sh -DBERTH_WERROR=ON
(cd "${BERTH_BUILD_DIR:-build}" && ctest --output-on-failure "$@")

if [ $# -eq 0 ]; then
  echo "== berth with sanitizers: exec across 20 hosts"
  cmake -S . -B build-asan -DENABLE_SANITIZERS=ON -DBERTH_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=Debug $(command -v ninja >/dev/null 2>&1 && echo -G Ninja) >/dev/null
  cmake --build build-asan -j "$(nproc)" --target berth
  status=0
  BERTH=$PWD/build-asan/berth BERTH_SOURCE_DIR=$PWD bash tests/e2e/test_exec_fleet.sh || status=$?
  BERTH=$PWD/build/berth BERTH_SOURCE_DIR=$PWD bash tests/e2e/fixture_cleanup.sh >/dev/null
  case $status in
    0) echo "sanitizers: 1 passed, 0 failed" ;;
    77) echo "sanitizers: 0 passed, 0 failed, 1 skipped" ;;
    *) echo "sanitizers: 0 passed, 1 failed"; exit 1 ;;
  esac
fi
