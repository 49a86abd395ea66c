#!/bin/sh
# The README's test command: installs every dependency, builds with warnings as
# errors, and runs every test (unit, then e2e against local test hosts) with CTest.
# Needs root (apt-get, and systemd-nspawn for the e2e tests).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BERTH_BUILD_DIR=${BERTH_BUILD_DIR:-build} scripts/build.sh -DBERTH_WERROR=ON
cd "${BERTH_BUILD_DIR:-build}"
ctest --output-on-failure "$@"
