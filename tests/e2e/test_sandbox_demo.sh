# berth sandbox up: one host boots with systemd as PID 1, the printed stanza's key,
# address and known_hosts log in with plain OpenSSH (strict host key checking),
# systemctl is-system-running says running, and apt-get update works inside.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

sandbox_up e2e-demo 1

# The stanza is what a user pastes into berth.toml.
address=$(printf '%s\n' "$SANDBOX_STANZA" | sed -n 's/^address = "\(.*\)"$/\1/p')
key=$(printf '%s\n' "$SANDBOX_STANZA" | sed -n 's/^identity_file = "\(.*\)"$/\1/p')
known_hosts=$(printf '%s\n' "$SANDBOX_STANZA" | sed -n 's/^known_hosts = "\(.*\)"$/\1/p')
printf '%s\n' "$SANDBOX_STANZA" | grep -qx '\[servers.e2e-demo\]' || fail "no [servers.e2e-demo] in: $SANDBOX_STANZA"
printf '%s\n' "$SANDBOX_STANZA" | grep -qx 'user = "root"' || fail "no user = \"root\" in the stanza"
case $address in 198.18.* | 198.19.*) ;; *) fail "address $address is not in 198.18.0.0/15" ;; esac

ssh_host() {
  ssh -F /dev/null -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$known_hosts" \
    -o GlobalKnownHostsFile=/dev/null "root@$address" "$@"
}

state=$(ssh_host systemctl is-system-running) || true
[ "$state" = running ] || fail "systemctl is-system-running says '$state', expected running"
[ "$(ssh_host cat /proc/1/comm)" = systemd ] || fail "PID 1 inside is not systemd"
[ "$(ssh_host hostname)" = e2e-demo ] || fail "hostname is not e2e-demo"
ssh_host apt-get update >/dev/null 2>&1 || fail "apt-get update fails inside the host"

# The same host through berth's own ssh wrapper.
[ "$("$BERTH" sandbox ssh e2e-demo -- echo hello)" = hello ] || fail "berth sandbox ssh does not run a command"

# list and --json agree with the stanza.
"$BERTH" sandbox list | grep -E "^e2e-demo +$address +running" >/dev/null || fail "list does not show the host running"
"$BERTH" --json sandbox list | grep -q "\"address\": \"$address\"" || fail "--json list does not hold $address"

# A second `up` of a running sandbox is refused, and leaves it running.
if "$BERTH" sandbox up e2e-demo 2>/dev/null; then fail "a second up of a running sandbox succeeded"; fi
[ "$(ssh_host echo still-up)" = still-up ] || fail "the refused second up broke the running host"
echo "PASS"
