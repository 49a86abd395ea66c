# ~/.ssh/config and ProxyJump (issue 4): a Host alias gives berth the address, user,
# identity and known_hosts; its Port is used; ProxyJump from the config and
# `proxy_jump` of the manifest reach the server through the jump host's sshd (an
# upload too); a missing `ssh` client is said before trying; `StrictHostKeyChecking
# no` is named and ignored. berth runs in a private mount namespace whose /etc/passwd
# gives root a home of this test's, so the machine's own ~/.ssh is neither read nor
# touched, with $HOME pointing to another folder: ~ in ssh_config is the passwd home
# (as libssh and OpenSSH read it), ~ in berth.toml is $HOME (as the shell that wrote it).
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn
command -v unshare >/dev/null || skip "needs unshare (util-linux)"

sandbox_up e2e-sshconfig 1 >/dev/null
work=$SANDBOX_DIR/test # removed with the sandbox
home=$work/home
mkdir -p "$home/.ssh"
chmod 700 "$home" "$home/.ssh"
cp "$SANDBOX_KEY" "$home/.ssh/id_sandbox"
shell_home=$work/shell-home # $HOME
mkdir -p "$shell_home/.ssh"
cp "$SANDBOX_KEY" "$shell_home/.ssh/id_from_home"
awk -F: -v OFS=: -v home="$home" '$1 == "root" { $6 = home } 1' /etc/passwd >"$work/passwd"
cd "$work"
address=$SANDBOX_ADDRESS

cat >"$home/.ssh/config" <<EOF
Host appbox
  HostName $address
  User root
  IdentityFile ~/.ssh/id_sandbox
  UserKnownHostsFile $SANDBOX_KNOWN_HOSTS

Host wrongport
  HostName $address
  Port 2222

Host behind
  HostName $address
  User root
  ProxyJump appbox
  IdentityFile ~/.ssh/id_sandbox
  UserKnownHostsFile $SANDBOX_KNOWN_HOSTS
EOF

# berth_as_test_home [ENV=VALUE...] ARGS...: berth with root's home at $home and
# $HOME at $shell_home.
berth_as_test_home() {
  HOME=$shell_home unshare --mount --propagation private \
    sh -c 'mount --bind "$0" /etc/passwd && exec env "$@"' "$work/passwd" "$@"
}

# manifest ADDRESS [EXTRA LINE...]: a manifest whose one server is at ADDRESS.
manifest() {
  local server_address=$1
  shift
  printf '[app]\nname = "cfg"\n\n[app.run]\ncommand = "true"\n\n[servers.web]\naddress = "%s"\n' \
    "$server_address" >berth.toml
  local line
  for line in "$@"; do echo "$line" >>berth.toml; done
}

# client_of OUTPUT: the client address sshd saw ($SSH_CONNECTION's first field).
client_of() { sed -n 's/^web | \([0-9.]*\) [0-9]* .*/\1/p' <<<"$1"; }

# A Host alias alone: address, user, identity (a ~ path) and known_hosts from the config.
manifest appbox
out=$(berth_as_test_home "$BERTH" exec -- 'echo $SSH_CONNECTION' 2>&1) ||
  fail "berth did not connect through the alias appbox: $out"
direct=$(client_of "$out")
[ -n "$direct" ] && [ "$direct" != "$address" ] ||
  fail "through the alias the server should see this machine, not '$direct': $out"

# The config's Port is used.
manifest wrongport 'identity_file = "~/.ssh/id_from_home"' "known_hosts = \"$SANDBOX_KNOWN_HOSTS\""
status=0
out=$(berth_as_test_home "$BERTH" exec -- true 2>&1) || status=$?
[ "$status" = 5 ] || fail "the alias with Port 2222 should be unreachable (exit 5), got $status: $out"
grep -q "cannot reach wrongport:2222" <<<"$out" || fail "the error does not name port 2222: $out"

# ProxyJump from the config: sshd sees the connection come from the jump host (the
# same host here, so from its own address).
manifest behind
out=$(berth_as_test_home "$BERTH" exec -- 'echo $SSH_CONNECTION' 2>&1) ||
  fail "berth did not connect through ProxyJump appbox: $out"
[ "$(client_of "$out")" = "$address" ] ||
  fail "through the jump host the server should see $address as the client: $out"

# proxy_jump of the manifest, same result; its identity_file's ~ is $HOME.
manifest "$address" 'identity_file = "~/.ssh/id_from_home"' "known_hosts = \"$SANDBOX_KNOWN_HOSTS\"" \
  'proxy_jump = "appbox"'
out=$(berth_as_test_home "$BERTH" exec -- 'echo $SSH_CONNECTION' 2>&1) ||
  fail "berth did not connect through proxy_jump: $out"
[ "$(client_of "$out")" = "$address" ] ||
  fail "through proxy_jump the server should see $address as the client: $out"

# An upload through the jump host arrives intact (unpaced there: berth's end is a pipe).
mkdir -p "$work/payload"
head -c 3000000 /dev/urandom >"$work/payload/blob"
sum=$(sha256sum <"$work/payload/blob" | cut -d' ' -f1)
out=$(berth_as_test_home "$BERTH" exec --upload "$work/payload:/tmp/jumped" -- 'sha256sum < /tmp/jumped/blob' 2>&1) ||
  fail "the upload through proxy_jump failed: $out"
grep -q "^web | $sum " <<<"$out" || fail "the upload through proxy_jump arrived changed: $out"

# Without an `ssh` client berth says so before trying.
status=0
out=$(berth_as_test_home PATH=/nonexistent "$BERTH" exec -- true 2>&1) || status=$?
[ "$status" = 5 ] || fail "ProxyJump without ssh should exit 5, got $status: $out"
grep -q "ProxyJump runs the OpenSSH client \`ssh\`, which is not installed here" <<<"$out" ||
  fail "the error does not say that ssh is missing: $out"

# StrictHostKeyChecking no: named (the passwd home's config, not $HOME's) and ignored.
printf 'Host *\n  StrictHostKeyChecking no\n' >>"$home/.ssh/config"
: >"$work/empty_known_hosts"
manifest "$address" 'identity_file = "~/.ssh/id_from_home"' "known_hosts = \"$work/empty_known_hosts\""
status=0
out=$(berth_as_test_home "$BERTH" exec -- true 2>&1) || status=$?
grep -q "$home/.ssh/config relaxes StrictHostKeyChecking; berth ignores that" <<<"$out" ||
  fail "no warning naming $home/.ssh/config: $out"
[ "$status" = 5 ] || fail "an unknown host key must still be refused (exit 5), got $status: $out"
grep -q "is not in $work/empty_known_hosts" <<<"$out" || fail "the refusal is not the host key's: $out"
[ ! -s "$work/empty_known_hosts" ] || fail "the key was recorded without --accept-new-host-keys"

echo PASS
