# A berth killed in the middle of `up` leaves nothing that blocks the next `up` of
# the same sandbox, and `down` removes the half-made one completely.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

BERTH_TEST_SANDBOXES+=(e2e-crash)
"$BERTH" -q sandbox down e2e-crash
state=$BERTH_SANDBOX_STATE/e2e-crash/state.json

"$BERTH" -q sandbox up e2e-crash --count 2 >/dev/null 2>&1 &
pid=$!
# Kill it as soon as the first container runs (state says booting), before it is done.
for _ in $(seq 1 600); do
  grep -q '"status": "booting"' "$state" 2>/dev/null && break
  sleep 0.05
done
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
grep -q '"complete": false' "$state" || fail "up finished before it could be killed; state: $(cat "$state")"

sandbox_up e2e-crash 2 >/dev/null
[ "$(sandbox_ssh e2e-crash 2 systemctl is-system-running)" = running ] || fail "host 2 not running after the re-up"

"$BERTH" sandbox down e2e-crash
leftovers=$(berth_leftovers | grep -E 'e2e-crash' || true)
[ -z "$leftovers" ] || fail "after down: $leftovers"
[ ! -e "$BERTH_SANDBOX_STATE/e2e-crash" ] || fail "the state folder remains"
echo "PASS"
