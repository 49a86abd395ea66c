# Without root, berth sandbox refuses with a message saying so and what to do; bad
# names and counts are usage errors (64).
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to switch to an unprivileged user"
command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"

status=0
output=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$BERTH" sandbox up nonroot 2>&1) || status=$?
[ "$status" = 1 ] || fail "as nobody: exit $status, expected 1 ($output)"
printf '%s\n' "$output" | grep -q "needs root" || fail "as nobody, no 'needs root' in: $output"

status=0
output=$("$BERTH" sandbox up Bad_Name 2>&1) || status=$?
[ "$status" = 64 ] || fail "bad name: exit $status, expected 64 ($output)"
status=0
"$BERTH" sandbox up ok --count 0 >/dev/null 2>&1 || status=$?
[ "$status" = 64 ] || fail "--count 0: exit $status, expected 64"
status=0
"$BERTH" sandbox ssh no-such-sandbox -- true >/dev/null 2>&1 || status=$?
[ "$status" = 1 ] || fail "ssh to a missing sandbox: exit $status, expected 1"
echo "PASS"
