# WebSockets and server-sent events through berth's nginx (issue 23), with a real
# WebSocket client (Debian's python3-websockets, tests/e2e/ws_client.py) against the
# example app's echo route: a connection held through a blue/green deploy keeps
# echoing until the old instance closes it cleanly (1001, going away), a new one
# reaches the new release, and events of /events arrive as the app writes them.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn
command -v curl >/dev/null || skip "needs curl"
/usr/bin/python3 -c 'import websockets' 2>/dev/null || skip "needs python3-websockets"
ws() { /usr/bin/python3 "$BERTH_SOURCE_DIR/tests/e2e/ws_client.py" "$@"; }

minimal_project e2e-px-ws
"$BERTH" -q setup >/dev/null || fail "setup failed"
"$BERTH" -q deploy >/dev/null || fail "the first deploy failed"

echo "== a WebSocket echo through nginx"
answer=$(ws "wss://$SANDBOX_ADDRESS/ws" hi) || fail "the WebSocket handshake failed"
[ "$answer" = "hello from berth: hi" ] || fail "unexpected echo: $answer"

echo "== server-sent events arrive as the app writes them"
curl -skN --max-time 2.5 "https://$SANDBOX_ADDRESS/events" >events.txt || true
cat events.txt
[ "$(grep -c '^data: hello from berth' events.txt)" -ge 2 ] || fail "events were held back (buffered) by nginx"

echo "== a WebSocket held through a deploy ends cleanly; a new one reaches the new release"
ws "wss://$SANDBOX_ADDRESS/ws" --hold held 120 >held.txt 2>&1 &
client=$!
sleep 1
# The new release's code answers differently (the environment stays).
sed -i 's/`${greeting}: ${payload}`/`${greeting} v2: ${payload}`/' app/server.js
grep -q 'v2: ' app/server.js || fail "cannot make the second release"
"$BERTH" -q deploy >deploy.out 2>&1 || { cat deploy.out; fail "the deploy failed"; }
status=0
wait $client || status=$?
tail -3 held.txt
[ $status = 0 ] || fail "the held WebSocket broke (exit $status)"
grep -q '^hello from berth: held-' held.txt || fail "the held WebSocket never echoed"
tail -1 held.txt | grep -qx 'closed 1001' || fail "the held WebSocket did not end with a close frame 1001"
grep -q '^hello from berth v2: held-' held.txt && fail "the old connection was answered by the new release"
answer=$(ws "wss://$SANDBOX_ADDRESS/ws" again) || fail "a new WebSocket after the deploy failed"
[ "$answer" = "hello from berth v2: again" ] || fail "a new WebSocket reached the old release: $answer"
echo "PASS"
