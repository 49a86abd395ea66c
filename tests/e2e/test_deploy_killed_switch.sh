# A deploy killed (SIGKILL) right when it switches nginx to the new instances: the
# site keeps answering every request throughout, and the next deploy succeeds
# (issue 8).
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
. "$BERTH_SOURCE_DIR/tests/e2e/deploy_lib.sh"
skip_unless_root_nspawn
command -v curl >/dev/null || skip "needs curl"

deploy_project e2e-killsw
"$BERTH" -q deploy >/dev/null || fail "the first deploy failed"

echo "== kill -9 as the switch starts, under load"
set_version v2
load_start
"$BERTH" deploy >killed.out 2>&1 &
pid=$!
for _ in $(seq 600); do
  grep -qx 'switch' killed.out && break
  sleep 0.02
done
grep -qx 'switch' killed.out || { kill -9 $pid; load_stop; fail "the deploy never reached the switch"; }
kill -9 $pid 2>/dev/null || { cat killed.out; fail "the deploy ended before it could be killed at the switch"; }
wait $pid 2>/dev/null || true
sleep 2
load_stop
cat killed.out
[ "$LOAD_FAILED" = 0 ] || fail "$LOAD_FAILED of $LOAD_TOTAL requests failed around the killed switch"
serve_check

echo "== the next deploy succeeds"
set_version v3
"$BERTH" deploy || fail "the deploy after a killed one failed"
[ "$(site)" = v3 ] || fail "v3 is not served"
echo "PASS"
