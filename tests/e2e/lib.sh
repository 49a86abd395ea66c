# Shell helpers for every e2e test. Source it first:
#
#   . "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
#   skip_unless_root_nspawn
#   sandbox_up mytest 2          # boots hosts, sets SANDBOX_* variables, downs them on exit
#   write_server_stanza "$SANDBOX_NAME" 1 web berth.toml
#
# CTest gives $BERTH (the binary) and $BERTH_SOURCE_DIR. Tests never send traffic
# outside this machine: sandbox hosts live in 198.18.0.0/15 on local bridges.
set -eu

: "${BERTH:?BERTH must name the berth binary (CTest sets it)}"
: "${BERTH_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BERTH_SANDBOX_STATE=${BERTH_SANDBOX_STATE:-/var/lib/berth/sandbox}

# fail MESSAGE...: print to stderr and exit 1.
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# skip MESSAGE...: print why and exit 77 (CTest reports the test as skipped).
skip() {
  echo "SKIP: $*" >&2
  exit 77
}

# need_programs PROGRAM...: fails the test unless this machine has each PROGRAM (the
# tools scripts/install-deps.sh installs, e.g. node and npm for an example's build).
need_programs() {
  local program
  for program in "$@"; do
    command -v "$program" >/dev/null 2>&1 || fail "needs $program on this machine (scripts/install-deps.sh installs it)"
  done
}

# skip_unless_root_nspawn: exit 77 unless this machine can run sandboxes (root,
# systemd-nspawn, debootstrap, nft, ip, overlayfs).
skip_unless_root_nspawn() {
  [ "$(id -u)" = 0 ] || skip "needs root (sandbox hosts are systemd-nspawn containers)"
  local program
  for program in systemd-nspawn debootstrap nft ip nsenter ssh ssh-keygen; do
    command -v "$program" >/dev/null 2>&1 ||
      skip "needs $program (apt-get install systemd-container debootstrap nftables iproute2 openssh-client)"
  done
  grep -qw overlay /proc/filesystems || skip "needs overlayfs (modprobe overlay)"
}

# foreign_sandboxes: names of running sandboxes that no e2e test made (tests name
# theirs e2e-*), i.e. someone's working hosts on a shared machine, one a line.
foreign_sandboxes() {
  sandbox_names | grep -v '^e2e-' || true
}

# sandbox_names: the names of all sandboxes on this machine, one a line.
sandbox_names() {
  "$BERTH" sandbox list 2>/dev/null | awk 'NR > 1 { sub(/\/[0-9]+$/, "", $4); print $4 }' | sort -u
}

# The sandboxes this test started; the EXIT trap downs them.
BERTH_TEST_SANDBOXES=()

# _berth_test_cleanup [STATUS]: downs this test's sandboxes and exits with STATUS
# (default: the status of the command before). A test's own EXIT trap ends with it:
#   trap 'status=$?; rm -rf "$work"; _berth_test_cleanup $status' EXIT
# (never `(exit $status)` first: under set -e that ends the trap before the clean-up).
# berth's own cache (the Debian release each server ran, debian::remembered) is the
# test's: sandbox addresses are reused across tests and releases.
XDG_CACHE_HOME=$(mktemp -d /tmp/berth-e2e-cache.XXXXXX)
export XDG_CACHE_HOME
_berth_test_cleanup() {
  local status=${1:-$?} name
  set +e
  for name in "${BERTH_TEST_SANDBOXES[@]}"; do
    "$BERTH" -q sandbox down "$name" >&2 || status=1
  done
  rm -rf "$XDG_CACHE_HOME"
  exit "$status"
}
trap _berth_test_cleanup EXIT

# sandbox_up NAME [COUNT]: boots sandbox NAME (tests use names starting with e2e-) with COUNT hosts (default 1), downs it
# when the test exits, and sets:
#   SANDBOX_NAME, SANDBOX_ADDRESSES (array, host 1 first), SANDBOX_ADDRESS (host 1),
#   SANDBOX_KEY (root's private key), SANDBOX_KNOWN_HOSTS, SANDBOX_DIR,
#   SANDBOX_STANZA (the [servers.*] TOML `up` printed).
# Prints the same to stdout as KEY=VALUE lines.
sandbox_up() {
  local name=$1 count=${2:-1}
  BERTH_TEST_SANDBOXES+=("$name")
  # BERTH_E2E_RELEASE=13 boots Debian 13 hosts (the test_trixie_* wrappers set it).
  SANDBOX_STANZA=$("$BERTH" sandbox up "$name" --count "$count" --release "${BERTH_E2E_RELEASE:-12}") ||
    fail "berth sandbox up $name --count $count --release ${BERTH_E2E_RELEASE:-12} failed"
  SANDBOX_NAME=$name
  SANDBOX_DIR=$BERTH_SANDBOX_STATE/$name
  SANDBOX_KEY=$SANDBOX_DIR/id_ed25519
  SANDBOX_KNOWN_HOSTS=$SANDBOX_DIR/known_hosts
  mapfile -t SANDBOX_ADDRESSES <"$SANDBOX_DIR/addresses"
  SANDBOX_ADDRESS=${SANDBOX_ADDRESSES[0]}
  echo "SANDBOX_NAME=$SANDBOX_NAME"
  echo "SANDBOX_ADDRESSES=${SANDBOX_ADDRESSES[*]}"
  echo "SANDBOX_KEY=$SANDBOX_KEY"
  echo "SANDBOX_KNOWN_HOSTS=$SANDBOX_KNOWN_HOSTS"
}

# minimal_project NAME: boots sandbox NAME (one host) and makes the current folder a
# temp copy of examples/minimal whose [servers.web] is that host; $work is the folder,
# removed when the test exits.
minimal_project() {
  sandbox_up "$1" 1 >/dev/null
  work=$(mktemp -d)
  # Keep the test's exit status through the clean-up (_berth_test_cleanup STATUS).
  trap 'status=$?; cd /; rm -rf "$work"; _berth_test_cleanup $status' EXIT
  cp -r "$BERTH_SOURCE_DIR/examples/minimal/." "$work/"
  sed -i '/^\[servers\.web\]/,/^$/d' "$work/berth.toml"
  write_server_stanza "$1" 1 web "$work/berth.toml"
  cd "$work" || fail "cannot enter $work"
}

# sandbox_address NAME INDEX: the address of host INDEX (1-based) of sandbox NAME.
sandbox_address() {
  sed -n "${2}p" "$BERTH_SANDBOX_STATE/$1/addresses"
}

# write_server_stanza SANDBOX INDEX SERVER FILE: appends a [servers.SERVER] table
# for host INDEX of SANDBOX to the manifest FILE (created when missing).
write_server_stanza() {
  local sandbox=$1 index=$2 server=$3 file=$4 dir=$BERTH_SANDBOX_STATE/$1
  local address
  address=$(sandbox_address "$sandbox" "$index")
  [ -n "$address" ] || fail "sandbox $sandbox has no host $index"
  {
    [ -s "$file" ] && echo
    echo "[servers.$server]"
    echo "address = \"$address\""
    echo "user = \"root\""
    echo "identity_file = \"$dir/id_ed25519\""
    echo "known_hosts = \"$dir/known_hosts\""
  } >>"$file"
}

# sandbox_ssh SANDBOX INDEX COMMAND...: runs COMMAND as root on a sandbox host over
# OpenSSH with the sandbox's key and known_hosts (never ~/.ssh/config).
sandbox_ssh() {
  local sandbox=$1 index=$2
  shift 2
  "$BERTH" sandbox ssh "$sandbox/$index" -- "$@"
}

# wrap_to_kill_session SANDBOX INDEX PROGRAM...: replaces each PROGRAM (a path) on
# the host by a wrapper that runs the real one, except when armed: after
# `arm_kill_session SANDBOX INDEX PROGRAM ARGUMENT`, the next run of PROGRAM whose
# first argument is ARGUMENT kills (SIGKILL) every process between it and the sshd
# process serving that session, that sshd included, and nothing runs after it: a
# connection cut off exactly there. unwrap_programs puts the real ones back.
wrap_to_kill_session() {
  local sandbox=$1 index=$2 program
  shift 2
  for program in "$@"; do
    sandbox_ssh "$sandbox" "$index" "set -e; [ -e $program.real ] || mv $program $program.real
cat > $program <<'WRAP'
#!/bin/sh
armed=/run/berth-fault.\$(basename \"\$0\")
if [ -e \"\$armed\" ] && [ \"\$1\" = \"\$(cat \"\$armed\")\" ]; then
  rm -f \"\$armed\"
  pid=\$PPID
  while [ \"\$pid\" -gt 1 ]; do
    comm=\$(cat /proc/\$pid/comm)
    next=\$(sed 's/.*) //' /proc/\$pid/stat | cut -d' ' -f2)
    kill -9 \"\$pid\"
    [ \"\$comm\" = sshd ] && break
    pid=\$next
  done
  exit 1
fi
exec \"\$0.real\" \"\$@\"
WRAP
chmod 755 $program"
  done
}

arm_kill_session() {
  sandbox_ssh "$1" "$2" "printf '%s' '$4' > /run/berth-fault.\$(basename $3)"
}

unwrap_programs() {
  local sandbox=$1 index=$2 program
  shift 2
  for program in "$@"; do
    sandbox_ssh "$sandbox" "$index" "[ ! -e $program.real ] || mv -f $program.real $program"
  done
}

# berth_leftovers: prints every trace of berth sandboxes on this machine (running
# nspawn processes, berth* links, berth-* namespaces, mounts under the state folder,
# the nft table, berth cgroups); prints nothing when clean.
berth_leftovers() {
  ps -eo stat=,comm= | awk '$1 !~ /^Z/ && $2 == "systemd-nspawn" { print "process: systemd-nspawn" }'
  ip -o link show | awk -F': ' '$2 ~ /^berth/ { sub(/@.*/, "", $2); print "link: " $2 }'
  ip netns list | awk '$1 ~ /^berth-/ { print "netns: " $1 }'
  awk -v root="$BERTH_SANDBOX_STATE" 'index($2, root) == 1 { print "mount: " $2 }' /proc/mounts
  awk '$3 == "overlay" && $4 ~ /berth/ { print "overlay: " $2 }' /proc/mounts
  nft list tables 2>/dev/null | awk '$3 == "berth_sandbox" { print "nft table: " $3 }'
  local pid cgroup state
  awk -F: '$3 ~ /^\/berth\// { split(FILENAME, f, "/"); print f[3], $3; nextfile }' \
    /proc/[0-9]*/cgroup 2>/dev/null |
    while read -r pid cgroup; do
      # A zombie holds nothing and its cgroup is gone ("(deleted)"): a killed container
      # init waits there until its new parent (this machine's PID 1) reaps it.
      state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
      if [ -n "$state" ] && [ "$state" != Z ]; then echo "process: pid $pid in cgroup $cgroup"; fi
    done
  for cgroup in /sys/fs/cgroup/berth /sys/fs/cgroup/*/berth; do
    [ -d "$cgroup" ] && echo "cgroup: $cgroup"
  done
  return 0
}

# run_berth NAME ARGS...: berth ARGS (no colors), its stdout and stderr kept as
# $outputs/NAME.out and $outputs/NAME.err (the test sets $outputs); sets $status.
run_berth() {
  local name=$1
  shift
  set +e
  "$BERTH" --no-color "$@" >"$outputs/$name.out" 2>"$outputs/$name.err"
  status=$?
  set -e
}

# must NAME ARGS...: run_berth, and the test fails, showing berth's output, unless it exits 0.
must() {
  local name=$1
  run_berth "$@"
  [ "$status" = 0 ] || { cat "$outputs/$name.err" "$outputs/$name.out"; fail "berth ${*:2}: exit $status"; }
}
