# A deploy without [proxy]: clients reach the app on its port, so a release restarts
# the instances in place there (blue ports, never green) and is gated on that port;
# a release that fails its checks is replaced by the one that was current, on the
# same port; rollback works the same way; plan is clean after each.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

sandbox_up e2e-noproxy 1 >/dev/null
work=$(mktemp -d)
trap 'status=$?; cd /; rm -rf "$work"; _berth_test_cleanup $status' EXIT
mkdir -p "$work/app"
cat >"$work/app/server.js" <<'JS'
const http = require("http");
const fs = require("fs");
const version = fs.readFileSync("version.txt", "utf8").trim();
const failing = fs.existsSync("FAIL_HEALTH");
http.createServer((req, res) => {
  res.writeHead(req.url === "/healthz" && failing ? 500 : 200, { "content-type": "text/plain" });
  res.end(`${version}\n`);
}).listen(Number(process.env.PORT), "0.0.0.0");
JS
cat >"$work/berth.toml" <<'TOML'
[app]
name = "bare"

[app.build]
dir = "app"

[app.run]
runtime = "node"
command = "node server.js"
port = 4000
instances = 1

[base]
open_ports = [4000]

[[health]]
name = "health"
url = "/healthz"
conditions = ["[STATUS] == 200"]
TOML
write_server_stanza e2e-noproxy 1 web "$work/berth.toml"
cd "$work"
served() { curl -s --max-time 5 "http://$SANDBOX_ADDRESS:4000/"; }

"$BERTH" -q setup >/dev/null || fail "setup failed"
for v in v1 v2; do
  echo "$v" >app/version.txt
  "$BERTH" --no-color deploy >deploy.out 2>&1 || { cat deploy.out; fail "deploy $v failed"; }
  [ "$(served)" = "$v" ] || fail "port 4000 serves '$(served)' after deploying $v"
  grep -q 'restarted in place' deploy.out || { cat deploy.out; fail "the deploy does not say it restarts in place"; }
done
sandbox_ssh e2e-noproxy 1 systemctl is-active -q bare@4001.service && fail "a green instance runs: nothing switches to it"
"$BERTH" -q plan --detailed-exitcode >/dev/null || fail "plan is not clean after two deploys"

echo "== a release that fails its check: v2 serves again on port 4000"
echo v3 >app/version.txt
touch app/FAIL_HEALTH
status=0
"$BERTH" --no-color deploy --gate-deadline 5s >fail.out 2>&1 || status=$?
rm -f app/FAIL_HEALTH
cat fail.out
[ "$status" = 1 ] || fail "the failing deploy exited $status, expected 1"
[ "$(served)" = v2 ] || fail "port 4000 serves '$(served)' after the failed deploy, expected v2"
sandbox_ssh e2e-noproxy 1 systemctl is-enabled -q bare@4000.service || fail "bare@4000 is not enabled after the switch back"
"$BERTH" -q plan --detailed-exitcode >/dev/null || fail "plan is not clean after the failed deploy"

echo "== rollback: v1 on port 4000"
"$BERTH" -q rollback >/dev/null || fail "rollback failed"
[ "$(served)" = v1 ] || fail "port 4000 serves '$(served)' after the rollback"
"$BERTH" -q plan --detailed-exitcode >/dev/null || fail "plan is not clean after the rollback"
echo PASS
