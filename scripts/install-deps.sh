#!/bin/sh
# Installs every build, test and demo dependency of berth from Debian 12's packages.
# Safe to run twice: apt-get skips what is installed, and the package lists are only
# refreshed when they are missing or older than a day.
set -eu

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (it calls apt-get)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

stamp=/var/lib/apt/periodic/update-success-stamp
lists_fresh() {
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mmin -1440 2>/dev/null | head -n 1)" ]
}
if ! lists_fresh; then
  apt-get update -q
fi

# Build: compiler, CMake and the libraries berth links.
build="build-essential cmake pkg-config git
  libssh-dev libcurl4-openssl-dev libtomlplusplus-dev libfmt-dev
  libboost-dev libboost-filesystem-dev libssl-dev
  catch2 libcli11-dev nlohmann-json3-dev libkainjow-mustache-dev"

# Tests and demo: local test hosts (debootstrap + systemd-nspawn + nftables), the
# ssh client for comparisons, curl for checks through the proxy (python3-websockets
# for WebSockets through it), shellcheck for the
# scripts berth runs on servers.
# clang 16 with libc++ and its libFuzzer runtime for the manifest loader's fuzz target
# (tests/fuzz/run.sh).
tests="openssh-client openssh-server debootstrap systemd-container nftables
  iproute2 curl ca-certificates procps util-linux shellcheck python3-websockets
  clang-16 libclang-rt-16-dev libc++-16-dev libc++abi-16-dev"

# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $build $tests

# Demo: the example's local build runs `npm ci` and `node --check` on this machine.
# Debian's nodejs and npm, unless an npm is already on PATH (e.g. a newer Node from
# another source, which Debian's npm package would conflict with).
if ! command -v npm >/dev/null 2>&1; then
  apt-get install -y -q --no-install-recommends nodejs npm
fi
