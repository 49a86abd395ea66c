# Two app hosts: a generated app secret has one value on both; a run_on = "one" job
# has its timer on one host only and `berth jobs run` runs it there only; a failed run
# is written to the journal and POSTed as JSON to the job's on_failure_webhook (a
# listener on this machine, on the sandbox's gateway address).
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn
command -v python3 >/dev/null || skip "needs python3 for the webhook listener"

sandbox_up e2e-px-jobs 2 >/dev/null
gateway=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gateway"])' \
  "$SANDBOX_DIR/state.json")
PROJECT=$(mktemp -d)
cleanup() {
  local status=$?
  set +e
  [ -n "${LISTENER:-}" ] && kill "$LISTENER" 2>/dev/null && wait "$LISTENER"
  cd / && rm -rf "$PROJECT"
  _berth_test_cleanup "$status"
}
trap cleanup EXIT
cd "$PROJECT"

# The webhook listener: logs each POST's body, one a line, and answers 204.
cat >listener.py <<'PY'
import http.server, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(204)
        self.end_headers()
server = http.server.HTTPServer((sys.argv[1], 0), Hook)
with open(sys.argv[3], "w") as f:
    f.write(str(server.server_port))
server.serve_forever()
PY
python3 listener.py "$gateway" "$PROJECT/posts" "$PROJECT/port" 2>listener.log &
LISTENER=$!
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
[ -s port ] || fail "the webhook listener did not start: $(cat listener.log)"
hook="http://$gateway:$(cat port)/hook"

cat >berth.toml <<TOML
[app]
name = "jobs2"

[app.run]
runtime = "binary"
command = "sleep infinity"
port = 4000

[app.run.secrets]
SESSION_KEY = { generate = true }

[[jobs]]
name = "stamp"
schedule = "daily"
command = "hostname >> /srv/jobs2/shared/ran.txt"
run_on = "one"

[[jobs]]
name = "broken"
schedule = "daily"
command = "echo about to fail; exit 3"
run_on = "one"
on_failure_webhook = "\${secret:JOBS_HOOK}"
TOML
# The webhook URL is a secret (as a Slack or Discord URL is): from the environment.
export JOBS_HOOK=$hook
for i in 1 2; do
  write_server_stanza e2e-px-jobs "$i" "app$i" berth.toml
  echo 'roles = ["app"]' >>berth.toml
done

"$BERTH" -q setup >setup.out || fail "setup failed: $(cat setup.out)"

# A generated app secret has one value on both app servers (made on app1, copied to app2).
for i in 1 2; do
  key[$i]=$(sandbox_ssh e2e-px-jobs "$i" "sed -n 's/^SESSION_KEY=\"\(.*\)\"\$/\1/p' /etc/berth/jobs2/app.env")
done
[ -n "${key[1]}" ] && [ "${key[1]}" = "${key[2]}" ] ||
  fail "the two app servers have different SESSION_KEYs"
# Before any release a run is skipped, not failed (no alert): `jobs run` says why.
if "$BERTH" jobs run stamp >early.out 2>&1; then fail "berth jobs run before a deploy should fail"; fi
grep -q 'did not run: no release of jobs2 is deployed' early.out && grep -q 'berth deploy' early.out ||
  fail "berth jobs run before a deploy: $(cat early.out)"
[ "$(sandbox_ssh e2e-px-jobs 1 'systemctl show -p Result --value jobs2-job-stamp.service')" = success ] ||
  fail "a skipped run left the job's service failed"

# The jobs run in the current release: a deploy makes it; here an empty one does.
"$BERTH" -q exec -- 'mkdir -p /srv/jobs2/releases/r1 && ln -sfn /srv/jobs2/releases/r1 /srv/jobs2/current' \
  >/dev/null || fail "could not make a release folder"

# The timer is enabled and active on app1 only (the first app server by name).
for i in 1 2; do
  state[$i]=$(sandbox_ssh e2e-px-jobs "$i" \
    'echo "$(systemctl is-enabled jobs2-job-stamp.timer) $(systemctl is-active jobs2-job-stamp.timer)"' || true)
  echo "app$i: jobs2-job-stamp.timer ${state[$i]}"
done
[ "${state[1]}" = "enabled active" ] || fail "app1's timer should be enabled and active"
[ "${state[2]}" = "disabled inactive" ] || fail "app2's timer should be disabled and inactive"

# A triggered run happens on exactly one host.
"$BERTH" jobs run stamp >run.out 2>&1 || fail "berth jobs run stamp failed: $(cat run.out)"
cat run.out
for i in 1 2; do
  lines[$i]=$(sandbox_ssh e2e-px-jobs "$i" 'cat /srv/jobs2/shared/ran.txt 2>/dev/null | wc -l')
  echo "app$i ran stamp ${lines[$i]} time(s)"
done
[ "${lines[1]}" = 1 ] && [ "${lines[2]}" = 0 ] || fail "stamp should have run once, on app1 only"

# setup again changes nothing about that.
"$BERTH" -q setup >/dev/null || fail "second setup failed"
[ "$(sandbox_ssh e2e-px-jobs 2 'systemctl is-enabled jobs2-job-stamp.timer' || true)" = disabled ] ||
  fail "a second setup enabled app2's timer"

# Without the secret, setup stops before any change, naming the job's line.
status=0
env -u JOBS_HOOK "$BERTH" plan >nohook.out 2>&1 || status=$?
[ "$status" != 0 ] && grep -q 'berth.toml:.*job broken: on_failure_webhook: .*JOBS_HOOK' nohook.out ||
  fail "a missing webhook secret is not named: $(cat nohook.out)"

# A failing job: the run fails, the journal says so, the webhook gets the JSON.
if "$BERTH" jobs run broken >broken.out 2>&1; then fail "berth jobs run broken should fail"; fi
cat broken.out
for _ in $(seq 100); do [ -s posts ] && break; sleep 0.2; done
[ -s posts ] || fail "the webhook got nothing: $(sandbox_ssh e2e-px-jobs 1 'journalctl -t jobs2-job-failed -n 20 --no-pager')"
cat posts
host1=$(sandbox_ssh e2e-px-jobs 1 hostname)
python3 - "$PROJECT/posts" "$host1" <<'PY' || fail "the webhook's JSON is not what the job's failure was"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
post = json.loads(lines[0])
assert post["app"] == "jobs2" and post["job"] == "broken", post
assert post["host"] == sys.argv[2], post
assert post["result"] == "exit-code" and post["status"] == 3, post
assert post["time"].endswith("Z"), post
assert len([l for l in lines if l]) == 1, "posted more than once"
PY
sandbox_ssh e2e-px-jobs 1 'journalctl -t jobs2-job-failed --no-pager' >journal.out
grep -q 'job broken of jobs2 failed on .*result exit-code, exit status 3' journal.out ||
  fail "the failure is not in app1's journal: $(cat journal.out)"
grep -q 'posted the failure of broken to its webhook' journal.out || fail "no post in the journal"
[ "$(sandbox_ssh e2e-px-jobs 2 'journalctl -t jobs2-job-failed --no-pager -q | wc -l')" = 0 ] ||
  fail "app2 reported a failure of a job it does not run"
echo "PASS"
