#!/usr/bin/env bash
# Benchmark: berth's streamed upload (tar through one exec channel into `tar -x`,
# then every file's cksum checked against what was sent) against OpenSSH on the
# same link to a sandbox host: `ssh host 'cat > /dev/null'` (the floor: no
# unpacking, no checksum) with OpenSSH's default cipher (chacha20-poly1305) and with
# aes128-gcm@openssh.com, the cipher berth negotiates first; `ssh host 'tar -x'`,
# scp, and rsync when the host has it. Prints the median of ROUNDS runs of each and
# berth's share of both `ssh cat`s; measures, asserts nothing.
#
#   BERTH=build/berth bench/upload.sh          (SIZE_MB=200 ROUNDS=3; needs root)
#   LINK_RATE=1gbit BERTH=build/berth bench/upload.sh
#
# Unshaped, the veth link is as fast as the two CPUs that berth (or ssh), sshd and
# tar share, so the figures compare CPU per byte. LINK_RATE shapes the link to the
# host (tc tbf on this machine's end of its veth, the upload's direction) to, say,
# a VPS's 1 Gbit/s network card: then the link is the limit, as between a laptop or
# a CI runner and a real server, and the figures compare throughput on that link.
#
# Times exclude connection setup: berth reports its upload time itself (one exec
# channel on an open session); OpenSSH runs over a ControlMaster connection opened
# beforehand, so each of its runs also costs just one channel on an open session.
# `ssh -c` has no effect on a channel of an open master connection, so the AES-GCM
# runs go through a second master opened with that cipher. One cost stays on berth's
# side: its upload is the first channel of a fresh connection. `berth exec -- true`
# measures what opening that channel costs (it was 45 ms before berth acknowledged
# sshd's packets at once: docs/ssh.md), and the last lines also give berth's share
# without it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BERTH=${BERTH:-$here/../build/berth}
SIZE_MB=${SIZE_MB:-200}
ROUNDS=${ROUNDS:-3}
name=bench-upload-$$
work=$(mktemp -d)
cleanup() {
  for ctl in "$work/ctl" "$work/ctl-gcm"; do
    [ -S "$ctl" ] && ssh -F /dev/null -o ControlPath="$ctl" -O exit x >/dev/null 2>&1
  done
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
base_opts=(-F /dev/null -i "$state/id_ed25519" -o UserKnownHostsFile="$state/known_hosts" -o BatchMode=yes)
if [ -n "${LINK_RATE:-}" ]; then
  # The veth goes with the sandbox, and its qdisc with it.
  dev=$(ip -o route get "$address" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
  tc qdisc replace dev "$dev" root tbf rate "$LINK_RATE" burst 1mb latency 50ms
fi
link="veth${LINK_RATE:+ shaped to $LINK_RATE}"
ssh_opts=("${base_opts[@]}" -o ControlPath="$work/ctl")
gcm_opts=("${base_opts[@]}" -o ControlPath="$work/ctl-gcm" -c aes128-gcm@openssh.com)
ssh "${ssh_opts[@]}" -o ControlMaster=yes -o ControlPersist=600 -f -N "root@$address"
ssh "${gcm_opts[@]}" -o ControlMaster=yes -o ControlPersist=600 -f -N "root@$address"
remote() { ssh "${ssh_opts[@]}" "root@$address" "$@"; }
remote_gcm() { ssh "${gcm_opts[@]}" "root@$address" "$@"; }

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
  "$BERTH" --json -f "$work/berth.toml" exec -- true | jq -r '.hosts[0].duration_ms / 1000' >>"$work/berth-first"
  seconds remote 'cat > /dev/null' >>"$work/ssh-cat"
  seconds remote_gcm 'cat > /dev/null' >>"$work/ssh-gcm-cat"
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
echo "upload of $((bytes / 1000000)) MB to one sandbox host over $link, median of $ROUNDS"
echo "(OpenSSH over a ControlMaster connection: no connection setup in its times)"
row berth-tar "berth upload (tar file)"
row berth-dir "berth upload (directory, tar -c on the fly)"
printf "%-46s %7.3f s\n" "berth exec -- true (first channel, fresh conn.)" "$(median <"$work/berth-first")"
transfer[berth-first]=$(median <"$work/berth-first")
row ssh-cat "ssh host 'cat > /dev/null' (chacha20-poly1305)"
row ssh-gcm-cat "ssh -c aes128-gcm host 'cat > /dev/null'"
row ssh-tar "ssh host 'tar -x' (no checksum)"
row scp "scp"
row rsync "rsync"
echo "berth negotiates aes128-gcm@openssh.com (core/ssh/session.cpp); the fair floor is the aes128-gcm cat"
for key in berth-tar berth-dir; do
  awk -v cat="${transfer[ssh-cat]}" -v gcm="${transfer[ssh-gcm-cat]}" -v b="${transfer[$key]}" -v k="$key" \
    -v first="${transfer[berth-first]}" \
    'BEGIN { printf "%s reaches %.0f%% of ssh -c aes128-gcm cat, %.0f%% of ssh cat (chacha20); " \
               "without its first-channel wait %.0f%% and %.0f%%\n",
             k, 100 * gcm / b, 100 * cat / b, 100 * gcm / (b - first), 100 * cat / (b - first) }'
done
