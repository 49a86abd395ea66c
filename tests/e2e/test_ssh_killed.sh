# A connection killed mid-command (the sshd child serving berth is killed on the
# server) ends in a clear error naming the host and the step, never a hang; so does
# a server that goes silent (its replies blackholed), within berth's 30 s.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

sandbox_up e2e-killed 1 >/dev/null
work=$SANDBOX_DIR/test # removed with the sandbox
mkdir -p "$work"
cd "$work"
printf '[app]\nname = "killed"\n\n[app.run]\ncommand = "true"\n\n' >berth.toml
write_server_stanza e2e-killed 1 web berth.toml

"$BERTH" --no-color exec -- 'echo started; exec sleep 600' >out.txt 2>err.txt &
berth_pid=$!
for _ in $(seq 300); do
  grep -q "web | started" out.txt && break
  kill -0 "$berth_pid" 2>/dev/null || fail "berth ended before the command started: $(cat err.txt)"
  sleep 0.1
done
grep -q "web | started" out.txt || fail "the command never started"

# On the server: sleep's parent is the sshd process of berth's session.
sandbox_ssh e2e-killed 1 '
  for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2>/dev/null)" = sleep ] || continue
    parent=$(awk "/^PPid:/ { print \$2 }" "$d/status")
    [ "$(cat /proc/$parent/comm)" = sshd ] && kill -9 "$parent" && echo "killed sshd $parent"
  done' | grep -q "killed sshd" || fail "found no sshd serving the sleep"

# berth must notice at once (the kernel closes the TCP connection): allow 30 s.
for _ in $(seq 300); do
  kill -0 "$berth_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$berth_pid" 2>/dev/null; then
  kill "$berth_pid"
  fail "berth still runs 30 s after its connection was killed"
fi
status=0
wait "$berth_pid" || status=$?
[ "$status" = 1 ] || fail "expected exit 1 after a lost connection, got $status: $(cat err.txt)"
grep -q "error: web: exec: connection lost after [0-9]* ms while running a script" err.txt ||
  fail "the error does not name the host and step: $(cat err.txt)"
grep -q "^web: failed" out.txt || fail "no failed status for web: $(cat out.txt)"
cat err.txt

# Silent server: its replies to us vanish (no FIN, no RST). TCP keepalives and
# TCP_USER_TIMEOUT must end the run in about 30 s, not hang.
client=$(sandbox_ssh e2e-killed 1 'echo $SSH_CLIENT' | awk '{ print $1 }')
[ -n "$client" ] || fail "cannot tell the client address the server sees"
netns=$(jq -r '.hosts[0].machine' "$SANDBOX_DIR/state.json")
ip netns exec "$netns" true || fail "no network namespace $netns for the sandbox host"
"$BERTH" --no-color exec -- 'echo started; exec sleep 600' >out.txt 2>err.txt &
berth_pid=$!
for _ in $(seq 300); do
  grep -q "web | started" out.txt && break
  kill -0 "$berth_pid" 2>/dev/null || fail "berth ended before the command started: $(cat err.txt)"
  sleep 0.1
done
ip netns exec "$netns" ip route add blackhole "$client"
started=$(date +%s)
for _ in $(seq 900); do
  kill -0 "$berth_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$berth_pid" 2>/dev/null; then
  kill "$berth_pid"
  fail "berth still runs 90 s after its server went silent"
fi
echo "berth gave up on the silent server after $(($(date +%s) - started)) s"
status=0
wait "$berth_pid" || status=$?
[ "$status" = 1 ] || fail "expected exit 1 after a silent server, got $status: $(cat err.txt)"
grep -q "error: web: exec: connection lost after [0-9]* ms while running a script" err.txt ||
  fail "the error does not name the host and step: $(cat err.txt)"
cat err.txt
echo PASS
