# A deploy killed (SIGKILL: no clean-up at all) in the middle of its upload leaves the
# previous release serving, and the next deploy takes the dead run's lock over and
# succeeds (issue 8).
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
. "$BERTH_SOURCE_DIR/tests/e2e/deploy_lib.sh"
skip_unless_root_nspawn
command -v curl >/dev/null || skip "needs curl"

deploy_project e2e-killup
"$BERTH" -q deploy >/dev/null || fail "the first deploy failed"
[ "$(site)" = v1 ] || fail "v1 is not served"

echo "== kill -9 during the upload of a 300 MB release"
set_version v2
head -c 300M /dev/urandom >app/blob.bin
"$BERTH" deploy >killed.out 2>&1 &
pid=$!
for _ in $(seq 600); do
  grep -q 'uploading' killed.out && break
  sleep 0.05
done
grep -q 'uploading' killed.out || { kill -9 $pid; fail "the deploy never reached its upload"; }
sleep 0.3
kill -9 $pid
wait $pid 2>/dev/null || true
cat killed.out
grep -q '^ok ship' killed.out && fail "the upload finished before the kill: the test proves nothing"
serve_check
[ "$(site)" = v1 ] || fail "v1 no longer serves after the killed deploy"

echo "== the next deploy takes the dead run's lock over and succeeds"
rm app/blob.bin
"$BERTH" deploy || fail "the deploy after a killed one failed"
[ "$(site)" = v2 ] || fail "v2 is not served"
echo "PASS"
