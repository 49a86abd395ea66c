# HTTP/2 through berth's nginx across reloads (issue 23): with [proxy] http2 = true,
# clients speak HTTP/2 (ALPN h2), and deploys under a steady load of kept-alive HTTP/2
# connections (each deploy reloads nginx) answer every request 200 but for those a
# client loses when nginx's old workers end their connections with GOAWAY (curl 7.88
# does not retry them: "Error in the HTTP2 framing layer"): no 502, no other error, at
# most 1 in 1000. Why http2 stays off by default: docs/proxy.md ("HTTP/2 and reloads").
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
. "$BERTH_SOURCE_DIR/tests/e2e/deploy_lib.sh"
skip_unless_root_nspawn
command -v curl >/dev/null || skip "needs curl"
curl -V | grep -q HTTP2 || skip "needs a curl with HTTP/2"

deploy_project e2e-px-h2 1
sed -i 's/^tls = "self-signed"$/&\nhttp2 = true/' berth.toml
"$BERTH" -q setup >/dev/null || fail "setup with http2 failed"
"$BERTH" -q deploy >/dev/null || fail "the first deploy failed"
[ "$(curl -sk -o /dev/null -w '%{http_version}' --max-time 5 "https://$SANDBOX_ADDRESS/")" = 2 ] ||
  fail "nginx does not speak HTTP/2"

for round in 1 2; do
  echo "== deploy $round under HTTP/2 load"
  set_version "v$((round + 1))"
  load_start
  sleep 1
  "$BERTH" -q deploy || { load_stop; fail "deploy $round failed"; }
  sleep 1
  errors=$(cat "$LOAD_DIR/errors")
  other=$(cat "$LOAD_DIR"/codes.* | grep -vx -e 200 -e 000 | head -3 || true)
  load_stop
  [ "$LOAD_TOTAL" -ge 500 ] || fail "the load generator sent too few requests ($LOAD_TOTAL)"
  [ -z "$other" ] || fail "answers other than 200 during deploy $round: $other"
  lost=$(printf '%s\n' "$errors" | grep -c 'HTTP2 framing layer' || true)
  [ "$LOAD_FAILED" = "$lost" ] || fail "requests failed otherwise than at a GOAWAY: $errors"
  [ $((LOAD_FAILED * 1000)) -le "$LOAD_TOTAL" ] || fail "$LOAD_FAILED of $LOAD_TOTAL HTTP/2 requests lost at reloads"
  echo "HTTP/2 requests lost at nginx's reloads: $LOAD_FAILED of $LOAD_TOTAL"
  [ "$(site)" = "v$((round + 1))" ] || fail "v$((round + 1)) is not served after deploy $round"
done
echo "PASS"
