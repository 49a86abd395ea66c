# berth health through the real binary against a local HTTP server on 127.0.0.1
# (bench/health_server.py): the table and exit 1 when a check fails, exit 0 with
# --only on passing checks, the --json document, --watch transitions, a relative URL
# checked on each server, a state change under --watch, malformed conditions as located manifest errors, and
# https with a custom CA, connect-to and [CERTIFICATE_EXPIRATION]. Loopback only:
# --local leaves out the server-side checks (no SSH; test_health_server.sh has them).
# fixtures: none
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"

for program in python3 jq openssl; do
  command -v "$program" >/dev/null 2>&1 || skip "needs $program"
done

work=$(mktemp -d)
servers=()
cleanup() {
  local pid
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
# Keep the test's exit status through the clean-up (_berth_test_cleanup STATUS).
trap 'status=$?; cleanup; _berth_test_cleanup $status' EXIT

# start_server PORTFILE [--tls CERT KEY]: starts bench/health_server.py, waits for its port.
start_server() {
  local portfile=$1
  shift
  python3 "$BERTH_SOURCE_DIR/bench/health_server.py" "$@" >"$portfile" &
  servers+=($!)
  local _
  for _ in $(seq 100); do [ -s "$portfile" ] && return 0; sleep 0.05; done
  fail "the test HTTP server did not start"
}

# run_berth ARGS...: runs berth, sets $out (stdout) and $status.
run_berth() {
  set +e
  out=$("$BERTH" --no-color -q "$@" 2>"$work/stderr")
  status=$?
  set -e
}

start_server "$work/port"
port=$(cat "$work/port")
cat >"$work/berth.toml" <<TOML
[app]
name = "demo"

[app.run]
command = "node server.js"
port = $port

[servers.web]
address = "127.0.0.1"

[[health]]
name = "api"
url = "http://127.0.0.1:$port/json"
conditions = ["[STATUS] == 200", "[BODY].db == ok", "len([BODY].items) == 3", "[RESPONSE_TIME] < 5s"]

[[health]]
name = "home"
url = "/json"
conditions = ["[BODY].version == pat(1.4.*)"]

[[health]]
name = "down"
url = "http://127.0.0.1:$port/status/503"
conditions = ["[STATUS] == any(200, 204)"]

[[health]]
name = "port"
kind = "tcp"
url = "127.0.0.1:$port"
conditions = ["[CONNECTED] == true"]
TOML

# One check fails: the table names it, its condition and the observed value; exit 1.
run_berth -f "$work/berth.toml" health --local
[ "$status" = 1 ] || fail "a failing check: exit $status, want 1: $out $(cat "$work/stderr")"
printf '%s\n' "$out" | grep -Eq '^ +down +FAIL +503 +\[STATUS\] == any\(200, 204\)' ||
  fail "the failing check is not in the table: $out"
printf '%s\n' "$out" | grep -Eq '^web +home +pass +1\.4\.2 ' ||
  fail "the relative URL was not checked on server web: $out"
printf '%s\n' "$out" | grep -q '4 checks: 3 passed, 1 failed' || fail "no summary: $out"

# --only the passing checks: exit 0.
run_berth -f "$work/berth.toml" health --local --only api,port --only home
[ "$status" = 0 ] || fail "--only passing checks: exit $status, want 0: $out"
printf '%s\n' "$out" | grep -q '3 checks: 3 passed, 0 failed' || fail "--only ran the wrong checks: $out"
run_berth -f "$work/berth.toml" health --local --only nope
[ "$status" = 64 ] || fail "--only an unknown check: exit $status, want 64"
grep -q "no health check named 'nope'" "$work/stderr" || fail "unknown --only not named: $(cat "$work/stderr")"

# --json: one document with the schema of docs/health.md; still exit 1.
run_berth -f "$work/berth.toml" --json health --local
[ "$status" = 1 ] || fail "--json: exit $status, want 1"
printf '%s' "$out" | jq -e '
  .version == 1 and .ok == false and .summary == {"total": 4, "passed": 3, "failed": 1}
  and (.checked_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))
  and ([.checks[] | select(.ok == false) | .name] == ["down"])
  and (.checks[] | select(.name == "down") | .conditions[0] == {"condition": "[STATUS] == any(200, 204)", "ok": false, "observed": "503"})
  and (.checks[] | select(.name == "home") | .host == "web" and .target == "http://127.0.0.1:'"$port"'/json")
  and ([.checks[] | .duration_ms | type] | unique == ["number"])' >/dev/null ||
  fail "--json document does not match docs/health.md: $out"

# --watch: the first round reports every check as new, later rounds only changes
# (nothing changes here); exit 1 because a check fails.
run_berth -f "$work/berth.toml" health --local --watch 0.1 --rounds 3
[ "$status" = 1 ] || fail "--watch: exit $status, want 1"
[ "$(printf '%s\n' "$out" | grep -c ': new -> ')" = 4 ] || fail "--watch: want 4 new checks: $out"
[ "$(printf '%s\n' "$out" | wc -l)" = 4 ] || fail "--watch printed more than the transitions: $out"
printf '%s\n' "$out" | grep -q 'down: new -> FAIL \[STATUS\] == any(200, 204) (observed 503)' ||
  fail "--watch does not name the failing condition: $out"

# --watch prints a check that changes state: /flip/1 answers 200 once, then 503.
cat >"$work/flip.toml" <<TOML
[app]
name = "demo"

[app.run]
command = "node server.js"

[servers.web]
address = "127.0.0.1"

[[health]]
name = "flip"
url = "http://127.0.0.1:$port/flip/1"
conditions = ["[STATUS] == 200"]
TOML
run_berth -f "$work/flip.toml" health --local --watch 0.1 --rounds 3
[ "$status" = 1 ] || fail "--watch ending failed: exit $status, want 1"
printf '%s\n' "$out" | sed 's/^[0-9:]* //' >"$work/flip.out"
printf '127.0.0.1 flip: new -> pass\n127.0.0.1 flip: pass -> FAIL [STATUS] == 200 (observed 503)\n' >"$work/flip.want"
diff "$work/flip.want" "$work/flip.out" >&2 || fail "--watch transitions differ"

# A check that cannot connect fails with the reason.
sed "s/127.0.0.1:$port\"/127.0.0.1:1\"/" "$work/berth.toml" >"$work/closed.toml"
run_berth -f "$work/closed.toml" health --local --only port
[ "$status" = 1 ] || fail "a closed port: exit $status, want 1"
printf '%s\n' "$out" | grep -q "error: .*127.0.0.1 port 1" || fail "no connect error shown: $out"

# A malformed condition is a manifest error at file:line:col, before any check runs.
sed 's/"\[STATUS\] == any(200, 204)"/"[STAUS] == any(200, 204)"/' "$work/berth.toml" >"$work/bad.toml"
line=$(grep -n 'STAUS' "$work/bad.toml" | cut -d: -f1)
run_berth -f "$work/bad.toml" health --local
[ "$status" = 1 ] || fail "a malformed condition: exit $status, want 1"
grep -q "$work/bad.toml:$line:[0-9]*: error: .*STAUS" "$work/stderr" ||
  fail "the malformed condition is not located: $(cat "$work/stderr")"

# https before DNS exists: a name only connect-to resolves, verified with a custom
# CA, and the certificate's remaining time.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" -days 365 \
  -subj "/CN=berth test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$work/app.key" -out "$work/app.csr" -subj "/CN=app.test" 2>/dev/null
printf 'subjectAltName=DNS:app.test\n' >"$work/ext"
openssl x509 -req -in "$work/app.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -out "$work/app.pem" -days 30 -extfile "$work/ext" 2>/dev/null
start_server "$work/tls_port" --tls "$work/app.pem" "$work/app.key"
tls_port=$(cat "$work/tls_port")
cat >"$work/tls.toml" <<TOML
[app]
name = "demo"

[app.run]
command = "node server.js"

[servers.web]
address = "127.0.0.1"

[[health]]
name = "verified"
url = "https://app.test:$tls_port/json"
connect_to = ["app.test:$tls_port:127.0.0.1:$tls_port"]
ca_file = "ca.pem"
conditions = ["[STATUS] == 200", "[CERTIFICATE_EXPIRATION] > 240h", "[CERTIFICATE_EXPIRATION] < 31d"]

[[health]]
name = "untrusted"
url = "https://app.test:$tls_port/json"
connect_to = ["app.test:$tls_port:127.0.0.1:$tls_port"]
conditions = ["[STATUS] == 200"]

[[health]]
name = "insecure"
url = "https://app.test:$tls_port/json"
connect_to = ["app.test:$tls_port:127.0.0.1:$tls_port"]
insecure = true
conditions = ["[STATUS] == 200"]
TOML
run_berth -f "$work/tls.toml" --json health --local
[ "$status" = 1 ] || fail "https: exit $status, want 1 (the untrusted check fails)"
printf '%s' "$out" | jq -e '
  ([.checks[] | select(.ok) | .name] | sort) == ["insecure", "verified"]
  and (.checks[] | select(.name == "untrusted") | .error | test("certificate"))' >/dev/null ||
  fail "https checks: $out"
echo "ok"
