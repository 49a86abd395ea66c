# berth sandbox down --all removes every trace: no systemd-nspawn process, no berth
# link or bridge, no network namespace, no overlay mount, no nft table, no cgroup;
# forwarding
# is back to what it was; running it twice is fine.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

# down --all would also remove someone's working hosts on a shared machine.
foreign=$(foreign_sandboxes | tr '\n' ' ')
[ -z "$foreign" ] || skip "sandboxes not made by tests are running ($foreign); down --all would remove them"

"$BERTH" sandbox down --all
forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
[ -z "$(berth_leftovers)" ] || fail "leftovers before the test: $(berth_leftovers)"

sandbox_up e2e-down-a 2 >/dev/null
sandbox_up e2e-down-b 1 >/dev/null
[ -n "$(berth_leftovers)" ] || fail "berth_leftovers sees nothing of two running sandboxes"
[ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "forwarding is off while sandboxes run"

"$BERTH" sandbox down --all
leftovers=$(berth_leftovers)
[ -z "$leftovers" ] || fail "after down --all: $leftovers"
for kind in process link netns mount overlay "nft table" cgroup; do
  ! printf '%s\n' "$leftovers" | grep -q "^$kind:" || fail "a $kind remains"
done
[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$forward_before" ] || fail "ip_forward not restored"
[ -z "$(ls -A "$BERTH_SANDBOX_STATE" | grep -v '^\.lock$')" ] || fail "state left in $BERTH_SANDBOX_STATE"
"$BERTH" sandbox list | grep -q . && fail "list still shows sandboxes"

"$BERTH" sandbox down --all || fail "a second down --all fails"
[ -z "$(berth_leftovers)" ] || fail "after the second down --all: $(berth_leftovers)"
echo "PASS"
