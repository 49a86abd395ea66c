#!/usr/bin/env bash
# Benchmark: berth's streamed upload (tar through one exec channel into `tar -x`,
# SHA-1 checked on both ends) against OpenSSH on the same link to a sandbox host:
# `ssh host 'cat > /dev/null'` (the floor: no unpacking, no checksum),
# `ssh host 'tar -x'`, scp, and rsync when the host has it. Prints the median of
# ROUNDS runs of each and berth's share of `ssh cat`; measures, asserts nothing.
#
#   BERTH=build/berth bench/upload.sh          (SIZE_MB=200 ROUNDS=3; needs root)
#
# Times exclude connection setup: berth reports its upload time itself (one exec
# channel on an open session); OpenSSH runs over a ControlMaster connection opened
# beforehand, so each of its runs also costs just one channel on an open session.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BERTH=${BERTH:-$here/../build/berth}
SIZE_MB=${SIZE_MB:-200}
ROUNDS=${ROUNDS:-3}
name=bench-upload-$$
work=$(mktemp -d)
cleanup() {
  [ -S "$work/ctl" ] && ssh -F /dev/null -o ControlPath="$work/ctl" -O exit x >/dev/null 2>&1
  "$BERTH" -q sandbox down "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# One sandbox host, and a manifest for it.
"$BERTH" -q sandbox up "$name" >"$work/stanza.toml"
state=/var/lib/berth/sandbox/$name
address=$(head -1 "$state/addresses")
{
  printf '[app]\nname = "bench"\n[app.run]\ncommand = "true"\n\n'
  grep -v '^#' "$work/stanza.toml"
} >"$work/berth.toml"
ssh_opts=(-F /dev/null -i "$state/id_ed25519" -o UserKnownHostsFile="$state/known_hosts" -o BatchMode=yes
  -o ControlPath="$work/ctl")
ssh "${ssh_opts[@]}" -o ControlMaster=yes -o ControlPersist=600 -f -N "root@$address"
remote() { ssh "${ssh_opts[@]}" "root@$address" "$@"; }

# SIZE_MB of incompressible data in 4 files, packed once for the tar-file runs.
mkdir -p "$work/data"
for i in 1 2 3 4; do head -c $((SIZE_MB * 250000)) /dev/urandom >"$work/data/part$i"; done
tar -c -f "$work/payload.tar" -C "$work/data" .
bytes=$(stat -c %s "$work/payload.tar")

now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# seconds COMMAND...: wall seconds of COMMAND (stdin from the tar).
seconds() {
  local start end
  start=$(now)
  "$@" <"$work/payload.tar" >/dev/null
  end=$(now)
  awk -v ns=$((end - start)) 'BEGIN { printf "%.3f\n", ns / 1e9 }'
}

declare -A transfer
berth_upload() {
  local source=$1 json
  json=$("$BERTH" --json -f "$work/berth.toml" exec --upload "$source:/tmp/bench-berth")
  echo "$json" | jq -r '.hosts[0].upload.duration_ms / 1000'
  remote rm -rf /tmp/bench-berth
}
for _ in $(seq "$ROUNDS"); do
  echo "$(berth_upload "$work/payload.tar")" >>"$work/berth-tar"
  echo "$(berth_upload "$work/data")" >>"$work/berth-dir"
  seconds remote 'cat > /dev/null' >>"$work/ssh-cat"
  seconds remote 'mkdir -p /tmp/bench-ssh && tar -x -C /tmp/bench-ssh && rm -rf /tmp/bench-ssh' >>"$work/ssh-tar"
  seconds scp -q "${ssh_opts[@]}" "$work/payload.tar" "root@$address:/tmp/bench.tar" >>"$work/scp"
  if command -v rsync >/dev/null && remote 'command -v rsync' >/dev/null 2>&1; then
    remote rm -f /tmp/bench-rsync.tar
    seconds rsync -a -e "ssh ${ssh_opts[*]}" "$work/payload.tar" "root@$address:/tmp/bench-rsync.tar" >>"$work/rsync"
  fi
done

row() { # KEY LABEL: prints the median time and rate of KEY
  local key=$1 label=$2 net
  if [ ! -s "$work/$key" ]; then
    printf '%-46s (not run: rsync is missing here or on the host)\n' "$label"
    return
  fi
  net=$(median <"$work/$key")
  transfer[$key]=$net
  awk -v label="$label" -v s="$net" -v b="$bytes" \
    'BEGIN { printf "%-46s %7.3f s %7.1f MB/s\n", label, s, b / 1e6 / s }'
}
echo "upload of $((bytes / 1000000)) MB to one sandbox host over veth, median of $ROUNDS"
echo "(OpenSSH over a ControlMaster connection: no connection setup in its times)"
row berth-tar "berth upload (tar file)"
row berth-dir "berth upload (directory, tar -c on the fly)"
row ssh-cat "ssh host 'cat > /dev/null'"
row ssh-tar "ssh host 'tar -x' (no checksum)"
row scp "scp"
row rsync "rsync"
for key in berth-tar berth-dir; do
  awk -v cat="${transfer[ssh-cat]}" -v b="${transfer[$key]}" -v k="$key" \
    'BEGIN { printf "%s reaches %.0f%% of the throughput of ssh cat > /dev/null\n", k, 100 * cat / b }'
done
