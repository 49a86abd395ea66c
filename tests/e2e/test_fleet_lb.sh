# Load balancing across app servers (issue 24), on five sandbox hosts: lb (proxy),
# app1-3 (app) and db (PostgreSQL). examples/fleet/demo.sh sets up the bare hosts and
# deploys the example as it is; then a versioned app on the same manifest. The app
# servers' instance ports answer the proxy and nobody else.
# A deploy in batches of one under load through the proxy loses no request and
# leaves every app server on the new release. The instances of one app server
# stopped by hand under load: the proxy stops sending it requests (failures
# reported, at most those in flight). A release whose direct check fails on app2 (the
# second batch): every app server serves the previous release again, no request
# lost, exit 1 naming app2 and the condition. A rollback in the same batches; with
# max_fail = 1, app2's failed batch goes back alone while app3's goes on. plan
# shows 0 changes after each; health checks each app server directly.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
. "$BERTH_SOURCE_DIR/tests/e2e/deploy_lib.sh"
skip_unless_root_nspawn

sandbox_up e2e-lb 5 >/dev/null
PROJECT=$(mktemp -d)
trap 'status=$?; load_stop >/dev/null 2>&1; cd /; rm -rf "$PROJECT"; _berth_test_cleanup $status' EXIT
cp -rL "$BERTH_SOURCE_DIR/examples/fleet/." "$PROJECT/"
echo "== examples/fleet/demo.sh: setup of five bare hosts, a deploy, health"
BERTH_DEMO_SANDBOX=e2e-lb sh "$PROJECT/demo.sh" >"$PROJECT/demo.out" 2>&1 || { cat "$PROJECT/demo.out"; fail "the fleet demo failed"; }
grep -q '^hello from a fleet$' "$PROJECT/demo.out" || { cat "$PROJECT/demo.out"; fail "the demo's site does not answer"; }
rm -rf "$PROJECT/app" && mkdir "$PROJECT/app"
# The example's manifest with the sandbox's hosts, and no rate limit (the load comes
# from one address).
sed -i -e '/^\[servers\./,/^$/d' -e '/^rate_limit/d' -e 's/^# private_address.*//' "$PROJECT/berth.toml"
index=1
for server in lb app1 app2 app3 db; do
  write_server_stanza e2e-lb $index $server "$PROJECT/berth.toml"
  case $server in lb) role=proxy ;; db) role=db ;; *) role=app ;; esac
  echo "roles = [\"$role\"]" >>"$PROJECT/berth.toml"
  eval "${server}_address=${SANDBOX_ADDRESSES[$((index - 1))]}"
  index=$((index + 1))
done
# The app answers its version and host; /healthz fails on a host named in a
# FAIL_ON_HOST file of the release.
cat >"$PROJECT/app/server.js" <<'JS'
const http = require("http");
const fs = require("fs");
const os = require("os");
const version = fs.readFileSync("version.txt", "utf8").trim();
const failing = fs.existsSync("FAIL_ON_HOST") && fs.readFileSync("FAIL_ON_HOST", "utf8").trim() === os.hostname();
const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(failing ? 500 : 200, { "content-type": "text/plain" });
    res.end(failing ? "broken\n" : "ok\n");
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(`${version} ${os.hostname()}\n`);
});
server.listen(Number(process.env.PORT), process.env.HOST, () => console.log(`${version} on ${process.env.PORT}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
JS
cd "$PROJECT"
set_version v1
"$BERTH" check >/dev/null || fail "berth check refuses the fleet manifest"

# What the proxy serves over 30 requests: one line per distinct "VERSION HOST".
served() {
  local i
  for i in $(seq 30); do curl -sk --max-time 5 "https://$lb_address/"; done | sort -u
}
hosts_line() { sandbox_ssh e2e-lb "$1" hostname; }
expect_all() {
  local version=$1 want got
  want=$(for i in 2 3 4; do echo "$version $(hosts_line $i)"; done | sort)
  got=$(served)
  [ "$got" = "$want" ] || fail "the proxy serves
$got
expected
$want"
}
plan_clean() {
  "$BERTH" --no-color plan --detailed-exitcode >"$PROJECT/plan.out" 2>&1 || { cat "$PROJECT/plan.out"; fail "plan shows changes after $1"; }
}

echo "== the versioned app"
"$BERTH" -q setup >/dev/null || fail "setup failed"
"$BERTH" -q deploy >/dev/null || fail "the first deploy of the versioned app failed"
expect_all v1
# The instance ports answer the proxy, and nobody else (this machine included).
sandbox_ssh e2e-lb 1 curl -s --max-time 3 "http://$app1_address:3000/" | grep -q '^v1 ' ||
  sandbox_ssh e2e-lb 1 curl -s --max-time 3 "http://$app1_address:3002/" | grep -q '^v1 ' ||
  fail "the proxy host cannot reach app1's instances"
if curl -s --max-time 3 "http://$app1_address:3000/" >/dev/null || curl -s --max-time 3 "http://$app1_address:3002/" >/dev/null; then
  fail "app1's instance ports answer this machine, which is not a proxy"
fi
plan_clean "the first deploy"

echo "== deploy v2 in batches of one under load"
set_version v2
SANDBOX_ADDRESS=$lb_address
under_load "$PROJECT/deploy.out" deploy
[ "$STATUS" = 0 ] || fail "deploy v2 failed (exit $STATUS)"
grep -q 'batch 3/3: app3' "$PROJECT/deploy.out" || fail "the deploy did not go in three batches"
[ "$LOAD_TOTAL" -ge 200 ] || fail "only $LOAD_TOTAL requests during the deploy"
[ "$LOAD_FAILED" = 0 ] || fail "$LOAD_FAILED of $LOAD_TOTAL requests failed during the deploy"
expect_all v2
plan_clean "deploy v2"

echo "== app2's instances stopped by hand under load"
load_start
sleep 2
sandbox_ssh e2e-lb 3 sh -c 'systemctl stop "hello@*.service"'
sleep 5
load_stop
echo "failed while app2 stopped: $LOAD_FAILED of $LOAD_TOTAL (the requests in flight at that moment at most)"
[ "$LOAD_FAILED" -le 8 ] || fail "$LOAD_FAILED requests failed after app2 stopped: the proxy kept sending it requests"
got=$(served)
echo "$got" | grep -q "$(hosts_line 3)" && fail "the proxy still sends requests to app2: $got"
# setup starts the live instances again.
"$BERTH" -q setup >/dev/null || fail "setup after the stop failed"
expect_all v2
plan_clean "app2's instances came back"

echo "== a release that fails its direct check on app2, the second batch"
set_version v3
hosts_line 3 >"$PROJECT/app/FAIL_ON_HOST"
under_load "$PROJECT/deploy3.out" deploy --gate-deadline 15s
rm -f "$PROJECT/app/FAIL_ON_HOST"
[ "$STATUS" = 1 ] || fail "the failing deploy exited $STATUS, expected 1"
grep -q 'batch 2/3: app2' "$PROJECT/deploy3.out" || fail "the failure does not name the second batch"
grep -q 'app2 port [0-9]*: \[STATUS\] == 200' "$PROJECT/deploy3.out" || fail "the failure does not name app2 and the condition"
[ "$LOAD_FAILED" = 0 ] || fail "$LOAD_FAILED of $LOAD_TOTAL requests failed during the failed deploy"
expect_all v2
plan_clean "the failed deploy"

echo "== rollback goes through the same batches: every app server back on v1"
"$BERTH" --no-color rollback >"$PROJECT/rollback.out" 2>&1 || { cat "$PROJECT/rollback.out"; fail "rollback failed"; }
grep -q 'batch 3/3: app3' "$PROJECT/rollback.out" || fail "the rollback did not go in three batches"
expect_all v1
plan_clean "the rollback"

echo "== max_fail = 1: app2's batch fails and goes back alone, app3's goes on"
sed -i 's/^batch = 1 .*/batch = 1\nmax_fail = 1/' "$PROJECT/berth.toml"
grep -q '^max_fail = 1$' "$PROJECT/berth.toml" || fail "could not set max_fail"
set_version v4
hosts_line 3 >"$PROJECT/app/FAIL_ON_HOST"
under_load "$PROJECT/deploy4.out" deploy --gate-deadline 10s
rm -f "$PROJECT/app/FAIL_ON_HOST"
[ "$STATUS" = 1 ] || fail "the deploy with a failed batch exited $STATUS, expected 1"
grep -q '1 of 3 app server(s) failed and serve the previous release (app2)' "$PROJECT/deploy4.out" ||
  fail "the deploy does not name app2 as kept on the previous release"
[ "$LOAD_FAILED" = 0 ] || fail "$LOAD_FAILED of $LOAD_TOTAL requests failed during the deploy with max_fail"
want=$(printf '%s\n' "v4 $(hosts_line 2)" "v1 $(hosts_line 3)" "v4 $(hosts_line 4)" | sort)
got=$(served)
[ "$got" = "$want" ] || fail "after max_fail the proxy serves
$got
expected
$want"
plan_clean "the deploy with max_fail"

echo "== health checks the site through the proxy and each app server"
"$BERTH" --no-color health >"$PROJECT/health.out" 2>&1 || { cat "$PROJECT/health.out"; fail "health failed"; }
cat "$PROJECT/health.out"
grep -q 'lb' "$PROJECT/health.out" || fail "health does not check through lb"
echo PASS
