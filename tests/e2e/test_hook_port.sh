# Remote hooks reach the live instance at $BERTH_PORT (issue 23): blue/green deploys
# alternate the instances between port and port + instances, so the starter's
# post_deploy hook, which once curled the fixed port and broke every second deploy,
# must pass four deploys in a row (each color twice).
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

minimal_project e2e-hook-port
cat >>berth.toml <<'TOML'

[hooks]
post_deploy = [{ command = "curl -fsS http://127.0.0.1:$BERTH_PORT/healthz", remote = true, role = "app" }]
TOML
"$BERTH" -q setup >/dev/null || fail "setup failed"
ports=""
for n in $(seq 4); do
  "$BERTH" --no-color deploy >deploy.out 2>&1 || { cat deploy.out; fail "deploy $n failed (its post_deploy hook)"; }
  ports="$ports $(sandbox_ssh e2e-hook-port 1 "sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' /etc/berth/hello/upstream.conf")"
done
echo "live ports:$ports"
echo "$ports" | grep -q 3000 && echo "$ports" | grep -q 3001 || fail "the deploys did not alternate colors:$ports"
echo "PASS"
