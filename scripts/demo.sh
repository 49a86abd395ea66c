#!/bin/sh
# The README's demo command: installs every dependency, builds berth, and runs the
# demo. Until the sandbox demo lands, the demo validates every example manifest.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
berth=$PWD/build/berth
for manifest in examples/*/berth.toml; do
  echo "== berth check -f $manifest"
  "$berth" check -f "$manifest"
done
