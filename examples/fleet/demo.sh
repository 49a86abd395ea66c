#!/bin/sh
# examples/fleet on five local sandbox hosts: boots them (`berth sandbox up fleet
# --count 5`), writes the git-ignored overlay berth.sandbox.toml that gives lb, app1-3
# and db their addresses, then `berth -e sandbox` check, setup, deploy (in batches of
# one) and health, and asks the site through the proxy. Run from anywhere, as root,
# after scripts/build.sh (or with BERTH set). Safe to run twice: a running sandbox is
# reused. Tear down with: build/berth sandbox down fleet
#
# Environment:
#   BERTH               the berth binary (default: build/berth of this checkout)
#   BERTH_DEMO_SANDBOX  the sandbox's name (default: fleet)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
berth=${BERTH:-$root/build/berth}
sandbox=${BERTH_DEMO_SANDBOX:-fleet}
state=${BERTH_SANDBOX_STATE:-/var/lib/berth/sandbox}
overlay=$here/berth.sandbox.toml

say() { printf '%s\n' "$*" >&2; }
[ "$(id -u)" -eq 0 ] || { say "fleet demo: run as root (sandbox hosts are systemd-nspawn containers)"; exit 1; }
[ -x "$berth" ] || { say "fleet demo: no berth binary at $berth: run scripts/build.sh or set BERTH"; exit 1; }

running=$("$berth" sandbox list 2>/dev/null | awk -v s="$sandbox/" 'index($4, s) == 1 && ($3 == "running" || $3 == "degraded")' | wc -l)
if [ "$running" -eq 5 ]; then
  say "== sandbox $sandbox is up (5 hosts): reusing it"
else
  say "== booting sandbox $sandbox (5 hosts)"
  "$berth" -q sandbox down "$sandbox" >/dev/null 2>&1 || true
  "$berth" sandbox up "$sandbox" --count 5 >/dev/null
fi

# The overlay: host 1 is lb, 2-4 are app1-3, 5 is db; roles stay berth.toml's.
{
  echo "# Written by examples/fleet/demo.sh from \`berth sandbox up $sandbox --count 5\` (git-ignored)."
  i=0
  for server in lb app1 app2 app3 db; do
    i=$((i + 1))
    echo
    echo "[servers.$server]"
    echo "address = \"$(sed -n "${i}p" "$state/$sandbox/addresses")\""
    echo "user = \"root\""
    echo "identity_file = \"$state/$sandbox/id_ed25519\""
    echo "known_hosts = \"$state/$sandbox/known_hosts\""
  done
} >"$overlay"
lb=$(sed -n 1p "$state/$sandbox/addresses")

cd "$here"
for command in check setup deploy health; do
  say "== berth -e sandbox $command"
  "$berth" -e sandbox "$command" || { say "fleet demo: berth $command failed (its output is above)"; exit 1; }
done
say "== the site through the proxy: https://$lb/"
curl -sSk --max-time 10 --fail-with-body "https://$lb/"
cat <<TEXT

examples/fleet is deployed: https://$lb/ (nginx on lb, a self-signed certificate)
balances over app1, app2 and app3. Try, from $here:
  $berth -e sandbox deploy        # one app server at a time, gated through lb
  $berth -e sandbox health        # the site through lb, each app server directly
  $berth sandbox down $sandbox    # remove the five hosts
TEXT
