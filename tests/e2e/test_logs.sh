# berth logs: the app instances' journal from every app host, prefixed by host.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
. "$BERTH_SOURCE_DIR/tests/e2e/deploy_lib.sh"
skip_unless_root_nspawn

deploy_project e2e-logs
"$BERTH" -q deploy >/dev/null || fail "deploy failed"
"$BERTH" logs -n 50 >logs.out || fail "berth logs failed"
cat logs.out
grep -Eq '^web \| .*version v1 on 400[0-3]' logs.out || fail "the app's own lines are not in berth logs"
set +e
timeout 3 "$BERTH" logs --follow -n 1 >follow.out
status=$?
set -e
[ $status = 124 ] || fail "logs --follow should keep running until stopped (exit $status)"
grep -q '^web | ' follow.out || fail "logs --follow printed nothing"
echo "PASS"
