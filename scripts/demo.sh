#!/bin/sh
# The README's demo: installs every dependency, builds berth, boots a local Debian 12
# (or 13) server (the sandbox `demo`), and deploys examples/subscription-tracker on it with
# `berth setup`, `berth deploy` and `berth health`; then prints the URL and curl
# commands to try. Needs root on Linux (the sandbox is a systemd-nspawn container).
#
# Safe to run twice: a running `demo` sandbox is reused, setup changes only what
# differs, and a second deploy ships a new release with zero downtime.
# Tear down with: build/berth sandbox down demo
#
# usage: scripts/demo.sh
# Environment (tests/e2e/test_example.sh runs this script with all three):
#   BERTH_BUILD_DIR      the build folder, as for scripts/build.sh (default: build)
#   BERTH                use this berth binary: skips installing and building
#   BERTH_DEMO_SANDBOX   the sandbox's name (default: demo)
#   BERTH_DEMO_EXAMPLE   the example's folder (default: examples/subscription-tracker)
#   BERTH_DEMO_RELEASE   the server's Debian release, 12 or 13 (default: 12)
set -eu
cd "$(dirname "$0")/.."
root=$PWD
build=${BERTH_BUILD_DIR:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
berth=${BERTH:-$build/berth}
sandbox=${BERTH_DEMO_SANDBOX:-demo}
example=${BERTH_DEMO_EXAMPLE:-$root/examples/subscription-tracker}
overlay=$example/berth.sandbox.toml
steps=8
n=0

say() { printf '%s\n' "$*" >&2; }

# step TITLE COMMAND...: prints the step, runs COMMAND, and on failure says which
# step failed, with its exit status, and what to do next.
step() {
  title=$1
  shift
  n=$((n + 1))
  say ""
  say "== [$n/$steps] $title"
  status=0
  "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    say ""
    say "demo: step $n/$steps failed: $title (exit status $status; its output is above)."
    say "      Fix the cause and run scripts/demo.sh again: finished steps are quick the"
    say "      second time and a running sandbox is reused."
    exit "$status"
  fi
}

# The sandbox `demo` when it runs (its one host running or degraded), else a new one.
# Writes its [servers.demo] stanza to $1.
sandbox_stanza() {
  state=$("$berth" sandbox list 2>/dev/null | awk -v s="$sandbox/1" '$4 == s { print $3 }')
  if [ "$state" = running ] || [ "$state" = degraded ]; then
    say "sandbox $sandbox is already up ($state): reusing it"
    cp "${BERTH_SANDBOX_STATE:-/var/lib/berth/sandbox}/$sandbox/stanza.toml" "$1"
  else
    "$berth" sandbox up "$sandbox" --release "${BERTH_DEMO_RELEASE:-12}" >"$1"
  fi
}

# Writes the git-ignored overlay that `berth -e sandbox` merges over berth.toml: the
# sandbox's stanza, renamed to the manifest's [servers.web].
write_overlay() {
  stanza=$(mktemp)
  if ! sandbox_stanza "$stanza"; then
    rm -f "$stanza"
    return 1
  fi
  {
    echo "# Written by scripts/demo.sh from \`berth sandbox up $sandbox\` (git-ignored)."
    echo "# Merged over berth.toml by \`berth -e sandbox ...\`."
    sed "s/^\[servers\.$sandbox\]\$/[servers.web]/" "$stanza" | grep -v '^#'
  } >"$overlay"
  rm -f "$stanza"
  grep -q '^\[servers\.web\]$' "$overlay" || { say "no [servers.web] in $overlay"; return 1; }
  address=$(sed -n 's/^address = "\(.*\)"$/\1/p' "$overlay")
  [ -n "$address" ] || { say "no address in $overlay"; return 1; }
  say "wrote $overlay ([servers.web] at $address)"
}

# Runs berth in the example's folder with the sandbox overlay.
example_berth() { (cd "$example" && "$berth" -e sandbox "$@"); }

if [ "$(id -u)" -ne 0 ]; then
  say "demo: run as root: it installs packages and boots a local server (systemd-nspawn)"
  exit 1
fi

if [ -n "${BERTH:-}" ]; then
  step "install dependencies: skipped, BERTH is set" true
  step "build berth: skipped, using $berth" test -x "$berth"
else
  step "install dependencies (scripts/install-deps.sh)" scripts/install-deps.sh
  step "build berth (scripts/build.sh)" scripts/build.sh
fi
step "boot sandbox $sandbox and write $overlay" write_overlay
address=$(sed -n 's/^address = "\(.*\)"$/\1/p' "$overlay")
step "check the manifest (berth -e sandbox check)" example_berth check
step "provision the server (berth -e sandbox setup; about a minute the first time)" example_berth setup
step "build and deploy the app (berth -e sandbox deploy)" example_berth deploy
step "health checks (berth -e sandbox health)" example_berth health
step "the app answers through nginx (curl -k https://$address/health)" \
  curl -sSk --max-time 10 --fail-with-body "https://$address/health"

email="you-$(date +%s)@example.com"
cat <<EOF


subscription-tracker is deployed on the sandbox $sandbox: https://$address/
(nginx with a self-signed certificate: hence curl -k)

Try it:
  curl -k https://$address/health
  curl -k https://$address/api/signup -H 'content-type: application/json' \\
       -d '{"email":"$email","password":"correct horse"}'

More, from the example's folder (its README.md documents the API):
  cd $example
  $berth -e sandbox releases            # the releases on the server
  $berth -e sandbox jobs run reminders  # run the daily reminders job now
  $berth -e sandbox deploy              # another zero-downtime release
  $berth sandbox ssh $sandbox               # a root shell on the server

Tear down:
  $berth sandbox down $sandbox
EOF
