# The python runtime (issue 7): a deploy makes the release's virtualenv on the server
# (python3 -m venv, requirements.txt installed), and the instances, the migration and
# the jobs run with it first on PATH: `python` here exists only inside the venv.
# requirements.txt is empty: the test machine cannot reach PyPI.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

sandbox_up e2e-python 1 >/dev/null
work=$SANDBOX_DIR/test # removed with the sandbox
mkdir -p "$work/app"
cd "$work"
cat >berth.toml <<'TOML'
[app]
name = "pyapp"

[app.build]
dir = "app"

[app.run]
runtime = "python"
command = "python app.py"
port = 3000
migrate = "python migrate.py"

[proxy]
tls = "self-signed"

[[jobs]]
name = "where"
schedule = "daily"
command = "python -c 'import sys; print(\"job prefix\", sys.prefix)'"
run_on = "one"

[[health]]
name = "home"
url = "/healthz"
conditions = ["[STATUS] == 200", "[BODY].venv == true", "[BODY].migrated == true"]
TOML
write_server_stanza e2e-python 1 web berth.toml
cat >app/requirements.txt <<'REQ'
# nothing: the test host cannot reach PyPI; pip still runs on this file
REQ
cat >app/migrate.py <<'PY'
open("migrated", "w").write("yes\n")
print("migrated")
PY
cat >app/app.py <<'PY'
import http.server, json, os, sys

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"venv": sys.prefix != sys.base_prefix,
                           "migrated": os.path.exists("migrated"),
                           "prefix": sys.prefix}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
PY

echo "== setup installs python3 and python3-venv; there is no bare python outside a venv"
"$BERTH" -q setup >/dev/null || fail "setup failed"
sandbox_ssh e2e-python 1 'command -v python' && fail "the host has a bare python: the test would prove nothing"

echo "== deploy: venv made, migration and instances run in it, the gate sees it"
"$BERTH" deploy >deploy.log 2>&1 || { cat deploy.log >&2; fail "deploy failed"; }
body=$(curl -sk --max-time 5 "https://$SANDBOX_ADDRESS/healthz")
echo "$body"
echo "$body" | grep -q '"venv": true' || fail "the app does not run in the release's virtualenv: $body"
echo "$body" | grep -q '"migrated": true' || fail "the migration did not run: $body"
echo "$body" | grep -q '/srv/pyapp/instances/3[0-9]*/.venv' || fail "the venv is not the release's: $body"

echo "== a job runs with the venv first on PATH too"
"$BERTH" jobs run where >job.log 2>&1 || { cat job.log >&2; fail "the job failed"; }
grep -q 'job prefix /srv/pyapp/current/.venv' job.log || { cat job.log >&2; fail "the job did not use the venv"; }

echo "== a requirements.txt pip cannot satisfy fails the deploy before anything switches"
echo 'berth-no-such-package-xyz==1.0' >app/requirements.txt
status=0
"$BERTH" deploy >bad.log 2>&1 || status=$?
[ "$status" = 1 ] || { cat bad.log >&2; fail "a failing pip install should fail the deploy (exit 1), got $status"; }
grep -q 'virtualenv of the release could not be made' bad.log || { cat bad.log >&2; fail "the error does not say what failed"; }
curl -sk --max-time 5 "https://$SANDBOX_ADDRESS/healthz" | grep -q '"venv": true' ||
  fail "the previous release stopped serving"
echo PASS
