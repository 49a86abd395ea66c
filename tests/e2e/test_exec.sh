# berth exec: stdout and stderr kept apart and prefixed by host, a status per host,
# exit 1 when a host fails, --json per host, sudo for a non-root user with become,
# and clear errors (exit 5) for an unreachable host and a refused key.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

sandbox_up e2e-exec 2 >/dev/null
work=$SANDBOX_DIR/test # removed with the sandbox
mkdir -p "$work"
cd "$work"
printf '[app]\nname = "exectest"\n\n[app.run]\ncommand = "true"\n\n' >berth.toml
write_server_stanza e2e-exec 1 web-1 berth.toml
write_server_stanza e2e-exec 2 web-2 berth.toml
unset SSH_AUTH_SOCK

# Output apart, host named, status shown, exit 1.
status=0
"$BERTH" --no-color exec -- 'echo out; echo err >&2; exit 3' >out.txt 2>err.txt || status=$?
[ "$status" = 1 ] || fail "a failing command should exit 1, got $status: $(cat err.txt)"
for host in web-1 web-2; do
  grep -qx "$host | out" out.txt || fail "stdout lacks '$host | out': $(cat out.txt)"
  grep -qx "$host ! err" err.txt || fail "stderr lacks '$host ! err': $(cat err.txt)"
  grep -q "^$host: exit 3" out.txt || fail "no status line 'exit 3' for $host: $(cat out.txt)"
done
! grep -q err out.txt || fail "stderr leaked into stdout: $(cat out.txt)"
! grep -q "| out" err.txt || fail "stdout leaked into stderr: $(cat err.txt)"

# The words after -- reach the shell verbatim: brackets and commas too.
"$BERTH" --no-color --hosts web-1 exec -- '[ -d /etc ] && echo "a, b"' >words.txt 2>&1 ||
  fail "a command in brackets failed: $(cat words.txt)"
grep -qx 'web-1 | a, b' words.txt || fail "the command was not run verbatim: $(cat words.txt)"

# --json: per-host stdout, stderr, exit status, signal, duration.
status=0
"$BERTH" --json exec -- 'echo out; echo err >&2; exit 3' >out.json 2>/dev/null || status=$?
[ "$status" = 1 ] || fail "--json: expected exit 1, got $status"
jq -e '.ok == false and (.hosts | length) == 2' out.json >/dev/null || fail "bad --json: $(cat out.json)"
jq -e 'all(.hosts[]; .stdout == "out\n" and .stderr == "err\n" and .exit_status == 3
        and .signal == null and (.duration_ms | type) == "number")' out.json >/dev/null ||
  fail "bad per-host --json: $(cat out.json)"

# Success, one host selected, a multi-word command.
"$BERTH" --json --hosts web-2 exec -- echo '$((6*7))' >ok.json || fail "exec on web-2 failed"
jq -e '.ok and (.hosts | length) == 1 and .hosts[0].name == "web-2" and .hosts[0].stdout == "42\n"' \
  ok.json >/dev/null || fail "bad --hosts web-2 result: $(cat ok.json)"

# --fail-fast: with one host at a time, the failure on web-1 skips web-2.
status=0
"$BERTH" --no-color --parallel 1 --fail-fast exec -- 'exit 4' >out.txt 2>err.txt || status=$?
[ "$status" = 1 ] || fail "--fail-fast: expected exit 1, got $status"
grep -qx "web-1: exit 4 ([0-9]* ms)" out.txt || fail "--fail-fast: web-1 should fail: $(cat out.txt)"
grep -qx "web-2: skipped (--fail-fast)" out.txt || fail "--fail-fast: web-2 should be skipped: $(cat out.txt)"

# A signal is reported as such.
status=0
"$BERTH" --json --hosts web-1 exec -- 'kill -TERM $$' >sig.json 2>/dev/null || status=$?
[ "$status" = 1 ] || fail "a killed command should exit 1, got $status"
jq -e '.hosts[0].signal == "TERM" and .hosts[0].exit_status == -1' sig.json >/dev/null ||
  fail "signal not reported: $(cat sig.json)"

# A non-root user with become runs through sudo -n; without become, as itself.
"$BERTH" --hosts web-1 exec -- 'useradd -m -s /bin/sh deploy 2>/dev/null || true
  mkdir -p ~deploy/.ssh && cp /root/.ssh/authorized_keys ~deploy/.ssh/
  chown -R deploy: ~deploy/.ssh
  echo "deploy ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/deploy && chmod 0440 /etc/sudoers.d/deploy' \
  >/dev/null || fail "cannot create the deploy user"
sed 's/^user = "root"$/user = "deploy"/' berth.toml >deploy.toml
"$BERTH" -f deploy.toml --json --hosts web-1 exec -- 'id -un' >deploy.json ||
  fail "exec as deploy (become) failed"
jq -e '.hosts[0].stdout == "root\n"' deploy.json >/dev/null || fail "become did not sudo: $(cat deploy.json)"
sed -i 's/^user = "deploy"$/user = "deploy"\nbecome = false/' deploy.toml
"$BERTH" -f deploy.toml --json --hosts web-1 exec -- 'id -un' >deploy.json ||
  fail "exec as deploy (no become) failed"
jq -e '.hosts[0].stdout == "deploy\n"' deploy.json >/dev/null || fail "become = false still sudoed"

# Unreachable: nothing listens on port 1; the other host still runs. Exit 5.
sed 's/^\[servers.web-2\]$/[servers.web-2]\nport = 1/' berth.toml >down.toml
status=0
"$BERTH" -f down.toml --no-color exec -- 'echo alive' >out.txt 2>err.txt || status=$?
[ "$status" = 5 ] || fail "an unreachable host should exit 5, got $status"
grep -qx "web-1 | alive" out.txt || fail "web-1 should still run when web-2 is down"
grep -q "web-2: connect: cannot reach $(sandbox_address e2e-exec 2):1" err.txt ||
  fail "no connect error naming web-2 and its address: $(cat err.txt)"

# A key the server refuses: exit 5, and the error lists what was tried.
ssh-keygen -q -t ed25519 -N '' -f stranger
sed "s|^identity_file = .*|identity_file = \"$work/stranger\"|" berth.toml >stranger.toml
status=0
"$BERTH" -f stranger.toml --hosts web-1 exec -- true >/dev/null 2>err.txt || status=$?
[ "$status" = 5 ] || fail "a refused key should exit 5, got $status"
grep -q "web-1: auth: root@.* accepted none of berth's keys" err.txt || fail "no auth error: $(cat err.txt)"
grep -q "$work/stranger: refused by the server" err.txt || fail "the tried key is not listed: $(cat err.txt)"
grep -q "ssh-agent: not running" err.txt || fail "the agent is not listed: $(cat err.txt)"

echo PASS
