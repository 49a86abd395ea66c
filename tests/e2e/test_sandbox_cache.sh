# The rootfs cache: a partial cache (no marker) and a corrupt one (an essential file
# gone) are detected and rebuilt, not booted; a good cache is used as it is. The
# rebuild is pointed at a closed port on loopback, so it fails fast without network
# and the test checks the error says what and what next. Copies are hard links
# (cp -al): quick, and removing a link never touches the real cache.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

real_cache=${BERTH_SANDBOX_CACHE:-/var/cache/berth/sandbox}
# The newest Debian 12 cache: an older one may be left from an earlier recipe version.
marker=$(ls -t "$real_cache"/bookworm-*/complete 2>/dev/null | head -n 1)
[ -n "$marker" ] || skip "no built cache in $real_cache (the e2e_cache fixture builds it)"
key_dir=$(dirname "$marker")
key=$(basename "$key_dir")

work=$(mktemp -d /var/tmp/berth-cache-test.XXXXXX)
cleanup_work() { rm -rf "$work"; }
BERTH_TEST_SANDBOXES+=(e2e-cache)
trap 'status=$?; "$BERTH" -q sandbox down e2e-cache >&2 || status=1; cleanup_work; exit $status' EXIT

expect_rebuild() {  # $1: what was broken
  local output status=0
  output=$(BERTH_SANDBOX_CACHE=$work BERTH_SANDBOX_MIRROR=http://127.0.0.1:9/debian \
    "$BERTH" sandbox up e2e-cache 2>&1) || status=$?
  [ "$status" = 1 ] || fail "$1: up exited $status, expected 1: $output"
  printf '%s\n' "$output" | grep -q "incomplete or corrupt: rebuilding" || fail "$1: not detected: $output"
  printf '%s\n' "$output" | grep -q "debootstrap failed" || fail "$1: no debootstrap error: $output"
  printf '%s\n' "$output" | grep -q "BERTH_SANDBOX_MIRROR" || fail "$1: the error says nothing to do next"
  [ ! -e "$work/$key" ] || fail "$1: the broken cache is still in place"
  [ -z "$(berth_leftovers | grep e2e-cache)" ] || fail "$1: leftovers: $(berth_leftovers)"
}

cp -al "$key_dir" "$work/$key"
rm "$work/$key/complete"
expect_rebuild "no marker"

cp -al "$key_dir" "$work/$key"
rm "$work/$key/rootfs/usr/sbin/sshd"
expect_rebuild "sshd missing"

# A good copy boots as it is: no debootstrap (the mirror would fail it). A cache of an
# older recipe version of the same suite is removed; another suite's and a partial
# build's stay.
rm -rf "$work/$key" "$work/$key.partial"
cp -al "$key_dir" "$work/$key"
older=$(printf '%s' "$key" | sed -E 's/-v[0-9]+-[0-9a-f]+$/-v0-00000000/')
mkdir -p "$work/$older/rootfs" "$work/$older.partial" "$work/trixie-x-v0-00000000"
output=$(BERTH_SANDBOX_CACHE=$work BERTH_SANDBOX_MIRROR=http://127.0.0.1:9/debian \
  "$BERTH" sandbox up e2e-cache 2>&1) || fail "up from a good cache failed: $output"
printf '%s\n' "$output" | grep -q debootstrap && fail "a good cache was rebuilt: $output"
[ ! -e "$work/$older" ] || fail "the cache of an older recipe version ($older) is still there"
printf '%s\n' "$output" | grep -q "removed the sandbox cache $older of an older berth" ||
  fail "up did not say it removed $older: $output"
[ -d "$work/$older.partial" ] && [ -d "$work/trixie-x-v0-00000000" ] ||
  fail "a partial build or another suite's cache was removed"
[ "$("$BERTH" sandbox ssh e2e-cache -- systemctl is-system-running)" = running ] ||
  fail "the host from the copied cache is not running"
"$BERTH" -q sandbox down e2e-cache
echo "PASS"
