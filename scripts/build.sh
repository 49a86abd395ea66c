#!/bin/sh
# Configures and builds berth into ./build (or $BERTH_BUILD_DIR). Extra arguments go
# to CMake's configure step, e.g. -DENABLE_SANITIZERS=ON.
set -eu
cd "$(dirname "$0")/.."
build=${BERTH_BUILD_DIR:-build}
generator=""
command -v ninja >/dev/null 2>&1 && generator="-G Ninja"
if [ ! -f "$build/CMakeCache.txt" ]; then
  # shellcheck disable=SC2086
  cmake -S . -B "$build" $generator "$@"
else
  cmake -S . -B "$build" "$@"
fi
cmake --build "$build" -j "$(nproc)"
