# berth sandbox up --count 3: three hosts on one bridge reach each other by address,
# each has its own machine-id and SSH host key, and its own cgroups.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

sandbox_up e2e-fleet 3
[ "${#SANDBOX_ADDRESSES[@]}" = 3 ] || fail "expected 3 addresses, got ${SANDBOX_ADDRESSES[*]}"
for name in e2e-fleet-1 e2e-fleet-2 e2e-fleet-3; do
  printf '%s\n' "$SANDBOX_STANZA" | grep -qx "\[servers.$name\]" || fail "no [servers.$name] in the stanza"
done

# minbase has no ping: connect to each peer's sshd with bash's /dev/tcp.
for i in 1 2 3; do
  for address in "${SANDBOX_ADDRESSES[@]}"; do
    sandbox_ssh e2e-fleet "$i" "timeout 5 bash -c 'exec 3<>/dev/tcp/$address/22 && head -c 7 <&3'" |
      grep -q '^SSH-2.0' || fail "host $i cannot reach $address:22"
  done
done

# ... and by name, through /etc/hosts.
sandbox_ssh e2e-fleet 1 "timeout 5 bash -c 'exec 3<>/dev/tcp/e2e-fleet-3/22 && head -c 7 <&3'" |
  grep -q '^SSH-2.0' || fail "host 1 cannot reach e2e-fleet-3 by name"

# Each host's units live in cgroups of its own: stopping sshd on host 1 must not
# touch host 2's (they once shared /payload/system.slice/ssh.service).
sshd_before=$(sandbox_ssh e2e-fleet 2 cat /run/sshd.pid)
sandbox_ssh e2e-fleet 1 systemctl restart ssh.service
[ "$(sandbox_ssh e2e-fleet 2 cat /run/sshd.pid)" = "$sshd_before" ] ||
  fail "restarting sshd on host 1 restarted or killed host 2's"
[ "$(sandbox_ssh e2e-fleet 1 systemctl is-active ssh.service)" = active ] ||
  fail "sshd on host 1 did not come back"

ids=$(for i in 1 2 3; do sandbox_ssh e2e-fleet "$i" cat /etc/machine-id; done | sort -u | wc -l)
[ "$ids" = 3 ] || fail "the hosts share a machine-id"
keys=$(awk '{ print $3 }' "$SANDBOX_KNOWN_HOSTS" | sort -u | wc -l)
[ "$keys" = 3 ] || fail "known_hosts should hold 3 distinct host keys, has $keys"
echo "PASS"
