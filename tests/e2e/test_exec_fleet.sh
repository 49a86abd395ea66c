# berth exec across 20 hosts at once: completes, one TCP connection per host, no
# more threads than --parallel, and no socket left open at exit (strace).
# When $BERTH was built with ENABLE_SANITIZERS, LeakSanitizer also checks memory at
# exit (a leak makes berth exit non-zero, failing this test).
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

hosts=20
# Twenty systemd containers need more inotify instances than the kernel's default 128
# per user: `berth sandbox up` raises the limit and the last `down` restores it.
sandbox_up e2e-fleet20 $hosts >/dev/null
work=$SANDBOX_DIR/test # removed with the sandbox
mkdir -p "$work"
cd "$work"
printf '[app]\nname = "fleet"\n\n[app.run]\ncommand = "true"\n\n' >berth.toml
for i in $(seq $hosts); do write_server_stanza e2e-fleet20 "$i" "web-$i" berth.toml; done
if ldd "$BERTH" | grep -q libasan; then echo "berth is built with sanitizers: LeakSanitizer checks at exit"; fi

# samples PID FILE: records the peak thread count and SSH connections of PID.
samples() {
  local pid=$1 file=$2 threads sockets
  : >"$file"
  while kill -0 "$pid" 2>/dev/null; do
    threads=$(ls "/proc/$pid/task" 2>/dev/null | wc -l)
    sockets=$(ss -tnpH state established "( dport = :22 )" 2>/dev/null | grep -c "pid=$pid," || true)
    echo "$threads $sockets" >>"$file"
    sleep 0.2
  done
}

# All 20 at once: every host answers, each over its own single connection.
"$BERTH" --json exec -- 'sleep 3; hostname' >all.json 2>err.txt &
pid=$!
samples "$pid" all.samples
wait "$pid" || fail "exec across $hosts hosts failed: $(cat err.txt)"
jq -e --argjson n $hosts '.ok and (.hosts | length) == $n and all(.hosts[]; .exit_status == 0)' all.json \
  >/dev/null || fail "not every host succeeded: $(jq -c '[.hosts[] | {name, exit_status, error}]' all.json)"
[ "$(jq -j '.hosts[].stdout' all.json | sort -u | grep -c .)" = $hosts ] ||
  fail "expected $hosts distinct hostnames: $(jq -c '[.hosts[].stdout]' all.json)"
peak_threads=$(sort -n all.samples | tail -1 | cut -d' ' -f1)
peak_sockets=$(sort -k2 -n all.samples | tail -1 | cut -d' ' -f2)
echo "20 hosts, --parallel 32: peak $peak_threads threads, $peak_sockets SSH connections, $(jq .duration_ms all.json) ms"
[ "$peak_sockets" = $hosts ] || fail "expected one connection per host ($hosts), saw $peak_sockets"
[ "$peak_threads" -le $hosts ] || fail "more threads ($peak_threads) than hosts ($hosts)"

# A bounded pool: --parallel 5 never runs more than 5 threads or connections.
"$BERTH" --parallel 5 --json exec -- 'sleep 1' >five.json 2>err.txt &
pid=$!
samples "$pid" five.samples
wait "$pid" || fail "exec with --parallel 5 failed: $(cat err.txt)"
peak_threads=$(sort -n five.samples | tail -1 | cut -d' ' -f1)
echo "20 hosts, --parallel 5: peak $peak_threads threads, $(jq .duration_ms five.json) ms"
[ "$peak_threads" -le 5 ] || fail "--parallel 5 ran $peak_threads threads"

# No socket or pipe left open when berth exits (sessions and channels are freed).
if command -v strace >/dev/null; then
  # LeakSanitizer cannot run under ptrace: the runs above did the leak check.
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
    strace -f -qq -e trace=socket,socketpair,pipe,pipe2,close -o trace.txt \
    "$BERTH" --json exec -- 'echo hi' >/dev/null 2>err.txt || fail "exec under strace failed: $(cat err.txt)"
  leaked=$(awk '
    /socket\(|socketpair\(|pipe2?\(|socket resumed|pipe2? resumed/ && /= [0-9]+$/ && !/socketpair|pipe/ {
      open[$NF] = 1
    }
    /close\([0-9]+/ { match($0, /close\([0-9]+/); fd = substr($0, RSTART + 6, RLENGTH - 6); delete open[fd] }
    END { for (fd in open) printf "%s ", fd }' trace.txt)
  [ -z "$leaked" ] || fail "sockets left open at exit: fds $leaked"
  opened=$(grep -c 'socket(AF_INET' trace.txt || true)
  echo "strace: $opened TCP sockets opened, all closed before exit"
  [ "$opened" -ge $hosts ] || fail "strace saw only $opened sockets for $hosts hosts"
else
  echo "strace not installed: fd check skipped"
fi
echo PASS
