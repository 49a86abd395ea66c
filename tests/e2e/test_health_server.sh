# berth health's server-side checks on a real host: examples/subscription-tracker set
# up and deployed by scripts/demo.sh (as test_example.sh does) on the sandbox
# e2e-hl-server. Healthy: exit 0, and every check is listed, the built-in ones
# (units, app instances, database, its backup timer, the job's timer, ports, disk,
# memory, load, certificate) and the manifest's (api, tls). PostgreSQL stopped: the
# database check and the app's api check fail ([BODY].db observed down), exit 1, both
# named, the unit's journal shown. Then `berth health --watch 2` runs while PostgreSQL
# starts again, and prints the checks' transitions back to pass. sshd stopped (every
# connection cut): exit 5, and --watch reports the host's `server` check FAIL, then
# connects again and reports it pass when sshd is back. Leaves no process behind.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn
need_programs node npm curl jq

sandbox=e2e-hl-server
work=$(mktemp -d /tmp/berth-e2e-health.XXXXXX)
watch_pid=
stop_watch() {
  [ -n "$watch_pid" ] || return 0
  kill -INT "$watch_pid" 2>/dev/null || true
  wait "$watch_pid" 2>/dev/null || true
  watch_pid=
}
trap 'status=$?; stop_watch; cd /; rm -rf "$work"; _berth_test_cleanup "$status"' EXIT
"$BERTH" -q sandbox down "$sandbox"
BERTH_TEST_SANDBOXES+=("$sandbox")

# --- set up and deploy the example, as the README's demo does ----------------------------
example=$work/subscription-tracker
mkdir "$example"
tar -C "$BERTH_SOURCE_DIR/examples/subscription-tracker" \
  --exclude=node_modules --exclude=.berth --exclude=berth.sandbox.toml -cf - . | tar -C "$example" -xf -
BERTH_DEMO_SANDBOX=$sandbox BERTH_DEMO_EXAMPLE=$example \
  sh "$BERTH_SOURCE_DIR/scripts/demo.sh" >"$work/demo.out" 2>"$work/demo.err" || {
  cat "$work/demo.err" "$work/demo.out" >&2
  fail "scripts/demo.sh (setup and deploy of the example) failed"
}
cd "$example"

# run_health ARGS...: berth -e sandbox health ARGS; sets $out and $status.
run_health() {
  set +e
  out=$("$BERTH" -e sandbox --no-color health "$@" 2>"$work/stderr")
  status=$?
  set -e
}

# --- healthy: exit 0, every check listed -------------------------------------------------
run_health
printf '%s\n' "$out"
[ "$status" = 0 ] || fail "the healthy example: exit $status, want 0: $(cat "$work/stderr")"
run_health --json
[ "$status" = 0 ] || fail "--json on the healthy example: exit $status, want 0"
names=$(printf '%s' "$out" | jq -r '[.checks[] | .name] | sort | join(" ")')
want="api app:1 app:2 backup:main cert:tracker.crt db:main disk:/ disk:/srv load memory ports timer:reminders tls unit:nginx unit:postgresql"
[ "$names" = "$want" ] || fail "the checks listed: '$names', want '$want'"
printf '%s' "$out" | jq -e '
  ([.checks[] | .host] | unique) == ["web"]
  and (.checks[] | select(.name == "db:main") | .kind == "database" and .target == "main (psql as tracker)")
  and (.checks[] | select(.name == "ports") | .target | test("^80 443 300[0-3] 300[0-3] 5432$"))
  and (.checks[] | select(.name == "disk:/") | .conditions[0].condition == "[DISK_USED] < 90")' >/dev/null ||
  fail "the --json document of the server-side checks: $out"
echo "ok   healthy: exit 0 and every check is listed ($want)"

# --only by name and by kind.
run_health --only db:main,unit
[ "$status" = 0 ] || fail "--only db:main,unit: exit $status"
printf '%s\n' "$out" | grep -q '^3 checks: 3 passed, 0 failed' || fail "--only db:main,unit: $out"

# --- PostgreSQL stopped: the database and the app's health condition fail ----------------
# postgresql.service is Debian's umbrella unit: stopping it alone returns before its
# cluster (postgresql@15-main, PartOf it) has stopped. Stop both, and wait for both.
sandbox_ssh "$sandbox" 1 systemctl stop postgresql.service 'postgresql@*.service'
run_health
printf '%s\n' "$out"
[ "$status" = 1 ] || fail "PostgreSQL stopped: exit $status, want 1"
printf '%s\n' "$out" | grep -Eq '^ +db:main +FAIL +false +\[CONNECTED\] == true' ||
  fail "the table does not show db:main failing: $out"
printf '%s\n' "$out" | grep -Eq '^ +FAIL +down +\[BODY\]\.db == ok' ||
  fail "the table does not show the api check's [BODY].db == ok failing with 'down': $out"
printf '%s\n' "$out" | grep -q 'error: .*Connection refused' || fail "the psql error is not shown: $out"
printf '%s\n' "$out" | grep -q '| .*Stopped' || fail "the stopped unit's journal is not shown: $out"
run_health --json
[ "$status" = 1 ] || fail "--json with PostgreSQL stopped: exit $status, want 1"
printf '%s' "$out" | jq -e '
  ([.checks[] | select(.ok == false) | .name] | index("db:main") != null and index("api") != null)
  and (.checks[] | select(.name == "api") | .conditions[] | select(.condition == "[BODY].db == ok") | .observed == "down")
  and (.checks[] | select(.name == "unit:postgresql") | .details | length > 0)' >/dev/null ||
  fail "--json does not name db:main and api as failed: $out"
echo "ok   PostgreSQL stopped: db:main and api fail, exit 1"

# --- --watch shows the way back to healthy -------------------------------------------------
"$BERTH" -e sandbox --no-color health --watch 2 >"$work/watch.out" 2>"$work/watch.err" &
watch_pid=$!
# wait_for PATTERN: until watch.out has a line matching PATTERN (at most 3 minutes).
wait_for() {
  local _
  for _ in $(seq 180); do
    grep -Eq "$1" "$work/watch.out" && return 0
    kill -0 "$watch_pid" 2>/dev/null || fail "berth health --watch exited: $(cat "$work/watch.err")"
    sleep 1
  done
  fail "--watch printed no '$1': $(cat "$work/watch.out")"
}
wait_for 'web db:main: new -> FAIL'
sandbox_ssh "$sandbox" 1 systemctl start postgresql
wait_for 'web db:main: FAIL -> pass'
wait_for 'web api: FAIL -> pass'
wait_for 'web unit:postgresql: FAIL -> pass'
pid=$watch_pid
stop_watch
cat "$work/watch.out"
! kill -0 "$pid" 2>/dev/null || fail "berth health --watch still runs after Ctrl-C"
echo "ok   --watch: db:main, api and unit:postgresql went back to pass"

# And all is well again.
run_health
[ "$status" = 0 ] || fail "PostgreSQL started again: exit $status, want 0: $out"

# --- [server_checks] sets the thresholds -------------------------------------------------
cp berth.toml berth.toml.orig
printf '\n[server_checks]\ndisk = ["[DISK_USED] < 0"]\n' >>berth.toml
run_health --only disk
mv berth.toml.orig berth.toml
echo "$out"
[ "$status" = 1 ] || fail "a disk threshold no disk meets: exit $status, want 1"
echo "$out" | grep -q 'disk:/ .*FAIL .*\[DISK_USED\] < 0' || fail "the manifest's disk threshold is not the one judged"
echo "ok   [server_checks]: the manifest's disk threshold is judged"

# --- a server that cannot be reached: exit 5; --watch connects it again -------------------
"$BERTH" -e sandbox --no-color health --watch 2 >"$work/watch.out" 2>"$work/watch.err" &
watch_pid=$!
wait_for 'web db:main: new -> pass'
# sshd stops and every SSH connection dies, the watch's too; systemd starts it again in 10 s.
sandbox_ssh "$sandbox" 1 'systemd-run --quiet --on-active=10 systemctl start ssh.service;
  systemctl stop ssh.socket ssh.service; pkill -9 -x sshd' >/dev/null 2>&1 || true
run_health
[ "$status" = 5 ] || fail "sshd stopped: exit $status, want 5: $out $(cat "$work/stderr")"
echo "ok   sshd stopped: exit 5"
wait_for 'web server: new -> FAIL'
wait_for 'web server: FAIL -> pass'
pid=$watch_pid
stop_watch
cat "$work/watch.out"
[ "$(grep -c 'web db:main: new -> pass' "$work/watch.out")" = 1 ] ||
  fail "after the outage, checks came back as new instead of keeping their state"
echo "ok   --watch: the unreachable host's server check went FAIL -> pass, nothing else changed"
run_health
[ "$status" = 0 ] || fail "sshd back: exit $status, want 0: $out"
echo "PASS"
