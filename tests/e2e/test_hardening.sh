# The hardened base (issue 6) on a fresh host, with a second host as the outsider:
# setup of app + PostgreSQL + Redis + nginx; the databases run and are filtered from
# outside while 22/80/443 answer; the ruleset drops by default and opens only those;
# passwords are refused over ssh; the deploy user logs in with the operator's key and
# sudo -n works; fail2ban's sshd jail bans an address after failed logins; swap is
# skipped (a container) and says so; a re-run changes nothing and keeps the generated
# passwords; a ruleset reload in the middle of a run keeps berth's session; moving
# berth from root to the deploy user turns root login off without locking anyone out,
# and sshd answers the moment that setup returns; ssh_keys that would drop the key
# berth logs in with are refused.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn
command -v python3 >/dev/null || skip "needs python3 to read --json"

sandbox_up e2e-hard 2 >/dev/null
work=$(mktemp -d)
# Hand the test's exit status to the clean-up, which downs the hosts and exits with it.
trap 'status=$?; cd /; rm -rf "$work"; _berth_test_cleanup $status' EXIT
cp -r "$BERTH_SOURCE_DIR/examples/minimal/." "$work/"
sed -i '/^\[servers\.web\]/,/^$/d' "$work/berth.toml"
write_server_stanza e2e-hard 1 web "$work/berth.toml"
cat >>"$work/berth.toml" <<'EOF'

[databases.main]
engine = "postgresql"

[databases.cache]
engine = "redis"

[base]
timezone = "Europe/Paris"
swap = "1G"
EOF
cd "$work"
host=${SANDBOX_ADDRESSES[0]}
outsider=2

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
on_host() { sandbox_ssh e2e-hard 1 "$@"; }
# from_outsider PORT: "open", or "filtered" when nothing answers within 3 s (a drop
# rule), or "refused" (a reset: nothing listens and nothing filters).
from_outsider() {
  sandbox_ssh e2e-hard "$outsider" "timeout 3 bash -c '</dev/tcp/$host/$1' 2>/dev/null; echo \$?" |
    awk '{ print $1 == 0 ? "open" : $1 == 124 ? "filtered" : "refused" }'
}
# ssh_password USER: tries to log in as USER with the password "hunter2-hunter2" only;
# prints ssh's stderr and fails when it got in.
ssh_password() {
  printf '#!/bin/sh\necho hunter2-hunter2\n' >askpass && chmod +x askpass
  ! SSH_ASKPASS=$work/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=none setsid -w \
    ssh -F /dev/null -o UserKnownHostsFile="$SANDBOX_KNOWN_HOSTS" -o ConnectTimeout=10 \
    -o PreferredAuthentications=password,keyboard-interactive -o PubkeyAuthentication=no \
    -o NumberOfPasswordPrompts=1 "$1@$host" true </dev/null 2>&1
}
ssh_key() {
  ssh -F /dev/null -i "$SANDBOX_KEY" -o IdentitiesOnly=yes -o UserKnownHostsFile="$SANDBOX_KNOWN_HOSTS" -o BatchMode=yes \
    -o ConnectTimeout=10 "$@"
}

echo "== before setup: the outsider reaches sshd, which offers passwords as cloud images do"
[ "$(from_outsider 22)" = open ] || fail "the outsider cannot reach ssh before setup"
# The sandbox's own drop-in refuses passwords; make the host a stock cloud VPS, whose
# 50-cloud-init.conf turns them on (berth's drop-in must win over it).
on_host "sed -i '/^PasswordAuthentication/d; /^KbdInteractiveAuthentication/d' /etc/ssh/sshd_config.d/berth-sandbox.conf &&
  echo 'PasswordAuthentication yes' >/etc/ssh/sshd_config.d/50-cloud-init.conf &&
  echo root:hunter2-hunter2 | chpasswd && systemctl restart ssh.service"
ssh_password root | grep -q 'Permission denied (publickey,password)' ||
  fail "this test expects sshd to offer passwords on a fresh host"

echo "== setup from a fresh host"
"$BERTH" setup || fail "setup failed on a fresh host"
for unit in postgresql redis-server nginx fail2ban nftables; do
  on_host systemctl is-active -q "$unit" || fail "$unit is not active after setup"
done

echo "== from the outsider: 22, 80 and 443 answer; 5432, 6379 and the rest are filtered"
for port in 22 80 443; do
  [ "$(from_outsider $port)" = open ] || fail "port $port is not open from the outsider"
done
for port in 5432 6379 3000 9999; do
  result=$(from_outsider $port)
  [ "$result" = filtered ] || fail "port $port is $result from the outsider, not filtered"
done

echo "== the ruleset: policy drop, established first, only the expected ports"
on_host nft list table inet berth >ruleset
cat ruleset
grep -q 'hook input priority filter; policy drop;' ruleset || fail "the input policy is not drop"
[ "$(grep -n 'dport' ruleset | head -n 1 | cut -d: -f1)" -gt "$(grep -n 'established,related accept' ruleset | cut -d: -f1)" ] ||
  fail "established connections are not accepted before any port"
[ "$(grep -o 'dport [0-9]*' ruleset | awk '{ print $2 }' | sort -n | tr '\n' ' ')" = "22 80 443 " ] ||
  fail "the ruleset opens other ports than 22, 80 and 443"

echo "== passwords are refused: sshd no longer offers them, for root or anyone"
on_host 'echo deploy:hunter2-hunter2 | chpasswd'
for user in root deploy; do
  out=$(ssh_password $user) || fail "ssh as $user with a password got in"
  echo "$out" | grep -q 'Permission denied (publickey)\.' || fail "sshd still offers passwords to $user: $out"
done

echo "== the deploy user logs in with the operator's key and sudo -n works"
[ "$(ssh_key "deploy@$host" 'sudo -n id -u')" = 0 ] || fail "deploy cannot log in or sudo -n"

echo "== fail2ban's sshd jail reads the journal"
on_host fail2ban-client status sshd | grep -q 'Journal matches:' || fail "fail2ban has no sshd jail on the journal"
echo "== a ban by the sshd jail shuts the outsider out of ssh, through nftables"
outsider_address=${SANDBOX_ADDRESSES[1]}
# ssh_then_unban: what the banned outsider gets on port 22 (from_outsider), then
# lifts its ban.
ssh_then_unban() {
  from_outsider 22
  on_host fail2ban-client set sshd unbanip "$outsider_address" >/dev/null
}
on_host fail2ban-client set sshd banip "$outsider_address" >/dev/null
result=$(ssh_then_unban)
# fail2ban's nftables action rejects: the banned outsider is refused.
[ "$result" = refused ] || fail "a banned outsider still reaches ssh ($result)"
[ "$(from_outsider 22)" = open ] || fail "the outsider does not reach ssh after the unban"
echo "== failed logins from the outsider get it banned by the sshd jail on their own"
for user in nobody1 nobody2 nobody3 nobody4 nobody5 nobody6; do
  # A ban that lands during a handshake drops its packets: timeout, not ssh, ends it.
  sandbox_ssh e2e-hard "$outsider" "timeout 10 ssh -o BatchMode=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o ConnectTimeout=3 $user@$host true" >/dev/null 2>&1 || true
done
# fail2ban reads the journal as it comes: give it a moment.
banned=no
for _ in $(seq 40); do
  if on_host fail2ban-client status sshd | grep -q "Banned IP list:.*$outsider_address"; then
    banned=yes
    break
  fi
  sleep 0.5
done
[ $banned = yes ] ||
  fail "six failed logins did not get the outsider banned: $(on_host fail2ban-client status sshd)"
result=$(ssh_then_unban)
[ "$result" = refused ] || fail "the outsider banned by the jail still reaches ssh ($result)"

echo "== time zone, journald, upgrades, swap"
[ "$(on_host readlink /etc/localtime)" = /usr/share/zoneinfo/Europe/Paris ] || fail "time zone not set"
on_host grep -qx 'SystemMaxUse=500M' /etc/systemd/journald.conf.d/berth.conf || fail "no journald cap"
on_host apt-config dump | grep -q 'Unattended-Upgrade "1"' || fail "unattended upgrades are off"
origins=$(on_host 'unattended-upgrade --dry-run -d 2>&1' | grep 'Allowed origins are:') ||
  fail "unattended-upgrade does not say which origins it allows"
echo "$origins" | grep -Eq 'label=Debian(,|$)' && fail "unattended upgrades allow more than security: $origins"
on_host grep -q 'container' /var/lib/berth/swap-skipped || fail "the skipped swap does not say why"
on_host swapon --show=NAME --noheadings | grep -q swapfile && fail "a container got a swap file?"
on_host test -e /swapfile && fail "a swap file was made that cannot be used"

echo "== a re-run changes nothing and keeps the generated passwords"
sums() { on_host 'sha256sum /etc/berth/hello/secrets/*'; }
sums >sums.before
"$BERTH" setup --json >again.json || fail "the second setup failed"
[ "$(json "d['hosts'][0]['changed']" <again.json)" = 0 ] || fail "the second setup changed something"
[ "$(json "d['hosts'][0]['execs']" <again.json)" = 1 ] || fail "the second setup used more than one exec"
sums >sums.after
grep -q db_main_password sums.before || fail "no generated PostgreSQL password"
cmp -s sums.before sums.after || fail "the generated passwords changed"

echo "== a ruleset reload in the middle of a run keeps berth's session"
on_host systemctl stop fail2ban.service
sed -i 's/^swap = "1G"$/swap = "1G"\nopen_ports = [8443]/' berth.toml
"$BERTH" setup --json >reload.json || fail "setup with a new open port failed"
json "[r['id'] for r in d['hosts'][0]['resources'] if r['status'] == 'changed']" <reload.json
# The app's openings changed (config stage), nftables reloaded, and fail2ban was started
# after it (services stage, the same SSH session).
[ "$(json "sorted(r['id'] for r in d['hosts'][0]['resources'] if r['status'] == 'changed')" <reload.json)" = \
  "['file:/etc/berth/firewall.d/hello.nft', 'unit:fail2ban.service']" ] || fail "unexpected changes for a new port"
on_host nft list table inet berth | grep -q 'tcp dport 8443 accept' || fail "8443 is not open"

echo "== moving berth from root to the deploy user turns root login off"
# sshd executes itself anew on a reload and listens again only when it has started:
# make that take a second, so that a setup which returned before sshd listens again
# leaves the next connection refused.
on_host 'mv /usr/sbin/sshd /usr/sbin/sshd.real && cat >/usr/sbin/sshd && chmod 755 /usr/sbin/sshd' <<'EOF'
#!/bin/bash
case " $* " in *" -R "*) ;; *" -D "*) sleep 1 ;; esac
exec -a /usr/sbin/sshd /usr/sbin/sshd.real "$@"
EOF
sed -i 's/^user = "root"$/user = "deploy"/' berth.toml
"$BERTH" setup || fail "setup as the deploy user failed"
ssh_key "deploy@$host" true || fail "sshd does not answer right after a setup that reloaded it"
ssh_key "deploy@$host" 'sudo -n mv /usr/sbin/sshd.real /usr/sbin/sshd'
# From here root cannot log in: look through the deploy user.
ssh_key "deploy@$host" 'sudo -n sshd -T' | grep -qx 'permitrootlogin no' || fail "root login is still allowed"
ssh_key "root@$host" true 2>/dev/null && fail "root still logs in with its key"
"$BERTH" -q plan --detailed-exitcode >/dev/null || fail "setup as the deploy user is not idempotent"
[ "$(ssh_key "deploy@$host" 'sudo -n id -u')" = 0 ] || fail "deploy was locked out"

echo "== ssh_keys without the key berth logs in with: refused, nobody is locked out"
ssh-keygen -q -t ed25519 -N '' -C other -f other_key
sed -i "/^\[base\]$/a ssh_keys = [\"$(cat other_key.pub)\"]" berth.toml
set +e
"$BERTH" setup >locked.out 2>&1
status=$?
set -e
cat locked.out
[ $status -eq 1 ] || fail "setup should refuse keys that lock berth out (got $status)"
grep -q 'would lock berth out' locked.out || fail "the error does not say why"
[ "$(ssh_key "deploy@$host" 'sudo -n id -u')" = 0 ] || fail "deploy was locked out by ssh_keys"
sed -i "s|^ssh_keys = \[|ssh_keys = [\"$(ssh-keygen -y -f "$SANDBOX_KEY")\", |" berth.toml
"$BERTH" setup || fail "setup with berth's key among ssh_keys failed"
ssh -F /dev/null -i other_key -o IdentitiesOnly=yes -o UserKnownHostsFile="$SANDBOX_KNOWN_HOSTS" \
  -o BatchMode=yes "deploy@$host" true || fail "the new key does not log in"
[ "$(ssh_key "deploy@$host" 'sudo -n id -u')" = 0 ] || fail "deploy was locked out"
echo "PASS"
