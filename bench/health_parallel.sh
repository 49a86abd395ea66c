#!/usr/bin/env bash
# Benchmark: N (default 50) HTTP health checks against a slow local endpoint (check i
# waits 20*i ms: 20 ms .. 1 s) must finish in about the time of the slowest one, not
# the sum of their delays, because berth runs every check at once on one curl multi
# handle. Prints both figures; exits 1 if `berth health` fails or the wall time is
# not below half the sum.
#
#   BERTH=build/berth bench/health_parallel.sh        (N=100 for more checks)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BERTH=${BERTH:-$here/../build/berth}
N=${N:-50}
work=$(mktemp -d)
server=
cleanup() {
  if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A slow HTTP server on 127.0.0.1 (port chosen by the kernel).
python3 "$here/health_server.py" >"$work/port" &
server=$!
for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.05; done
port=$(cat "$work/port")

# A manifest with N checks, check i on /delay/(20*i).
{
  printf '[app]\nname = "bench"\n[app.run]\ncommand = "true"\n\n[servers.local]\naddress = "127.0.0.1"\n'
  for i in $(seq "$N"); do
    printf '\n[[health]]\nname = "slow%d"\nurl = "http://127.0.0.1:%d/delay/%d"\n' "$i" "$port" $((20 * i))
    printf 'conditions = ["[STATUS] == 200", "[BODY].delay_ms == %d"]\ntimeout = "30s"\n' $((20 * i))
  done
} >"$work/berth.toml"

sum_ms=$((20 * N * (N + 1) / 2))
slowest_ms=$((20 * N))
start=$(date +%s%N)
status=0
"$BERTH" -q -f "$work/berth.toml" health >"$work/out" || status=$?
wall_ms=$(( ($(date +%s%N) - start) / 1000000 ))

passed=$(grep -c ' pass ' "$work/out" || true)
printf 'checks:                 %d (%d conditions passed)\n' "$N" "$passed"
printf 'sum of delays:          %d.%03d s\n' $((sum_ms / 1000)) $((sum_ms % 1000))
printf 'slowest check:          %d.%03d s\n' $((slowest_ms / 1000)) $((slowest_ms % 1000))
printf 'berth health wall time: %d.%03d s\n' $((wall_ms / 1000)) $((wall_ms % 1000))
if (( status != 0 || wall_ms * 2 >= sum_ms )); then
  echo "FAIL: checks did not run in parallel (or failed)" >&2
  exit 1
fi
