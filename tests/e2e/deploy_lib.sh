# Shared by the deploy e2e tests: a small versioned app behind nginx on one sandbox
# host. Source after lib.sh; call deploy_project NAME [INSTANCES] to boot the host,
# write the project in $PROJECT (cwd) and run setup. The app answers / with its
# version and /env with $MESSAGE from its environment; its health check fails when the
# release has a FAIL_HEALTH file or MESSAGE is "broken".
#   set_version TEXT      what the next release answers on /
#   serve_check           fails unless the site answers 200 through nginx
#   load_start / load_stop  four curl loops through nginx; load_stop prints
#                         "requests=N failed=M" and sets LOAD_FAILED
deploy_project() {
  local name=$1 instances=${2:-2}
  sandbox_up "$name" 1 >/dev/null
  PROJECT=$(mktemp -d)
  # Keep the test's exit status through the clean-up (_berth_test_cleanup STATUS).
  trap 'status=$?; load_stop >/dev/null 2>&1; cd /; rm -rf "$PROJECT"; _berth_test_cleanup $status' EXIT
  mkdir -p "$PROJECT/app"
  cat >"$PROJECT/app/server.js" <<'JS'
const http = require("http");
const fs = require("fs");
const port = Number(process.env.PORT);
const version = fs.readFileSync("version.txt", "utf8").trim();
const failing = fs.existsSync("FAIL_HEALTH") || process.env.MESSAGE === "broken";
const server = http.createServer((req, res) => {
  if (req.url === "/env") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end((process.env.MESSAGE || "") + "\n");
    return;
  }
  if (req.url === "/healthz") {
    res.writeHead(failing ? 500 : 200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: failing ? "broken" : "ok", version }));
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(version + "\n");
});
server.listen(port, "127.0.0.1", () => console.log(`version ${version} on ${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
JS
  cat >"$PROJECT/berth.toml" <<'TOML'
[app]
name = "shop"

[app.build]
dir = "app"

[app.run]
runtime = "node"
command = "node server.js"
port = 4000
instances = INSTANCES

[proxy]
tls = "self-signed"

[[health]]
name = "health"
url = "/healthz"
conditions = ["[STATUS] == 200", "[BODY].status == ok"]
TOML
  sed -i "s/^instances = INSTANCES$/instances = $instances/" "$PROJECT/berth.toml"
  write_server_stanza "$name" 1 web "$PROJECT/berth.toml"
  cd "$PROJECT"
  set_version v1
  "$BERTH" -q setup >/dev/null || fail "setup failed"
}

set_version() { echo "$1" >"$PROJECT/app/version.txt"; }

site() { curl -sk --max-time 5 "https://$SANDBOX_ADDRESS/" ; }

serve_check() {
  local code
  code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 5 "https://$SANDBOX_ADDRESS/")
  [ "$code" = 200 ] || fail "the site does not serve (HTTP $code)"
}

# under_load OUT ARGS...: runs `berth --no-color ARGS` while load_start's loops run,
# its output in OUT (printed), and sets STATUS to its exit status and LOAD_FAILED,
# LOAD_TOTAL as load_stop does.
under_load() {
  local out=$1
  shift
  load_start
  STATUS=0
  "$BERTH" --no-color "$@" >"$out" 2>&1 || STATUS=$?
  sleep 1
  load_stop
  cat "$out"
}

# Each loop runs curl on 50 URLs at a time (kept-alive connections, as browsers and
# API clients use them), so a deploy sees thousands of requests.
load_start() {
  LOAD_DIR=$(mktemp -d)
  local i urls=()
  for i in $(seq 50); do urls+=(-o /dev/null "https://$SANDBOX_ADDRESS/"); done
  for i in 1 2 3 4; do
    (
      while [ ! -e "$LOAD_DIR/stop" ]; do
        curl ${LOAD_CURL_FLAGS:-} -skS -w '%{http_code}\n' --max-time 5 "${urls[@]}" >>"$LOAD_DIR/codes.$i" 2>>"$LOAD_DIR/errors"
      done
    ) &
  done
}

load_stop() {
  [ -n "${LOAD_DIR:-}" ] || return 0
  touch "$LOAD_DIR/stop"
  wait
  local total failed
  total=$(cat "$LOAD_DIR"/codes.* | wc -l)
  failed=$(cat "$LOAD_DIR"/codes.* | grep -vcx 200 || true)
  echo "requests=$total failed=$failed ($(cat "$LOAD_DIR"/codes.* | sort | uniq -c | tr '\n' ' '))"
  if [ -s "$LOAD_DIR/errors" ]; then sed 's/^/curl: /' "$LOAD_DIR/errors" | sort | uniq -c; fi
  LOAD_FAILED=$failed
  LOAD_TOTAL=$total
  rm -rf "$LOAD_DIR"
  LOAD_DIR=
}
