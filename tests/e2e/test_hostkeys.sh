# Host keys (DESIGN.md invariant 7): an unknown key is refused with its fingerprint
# unless --accept-new-host-keys, which records it; a changed key is refused even
# with the flag, naming the known_hosts line.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

sandbox_up e2e-hostkeys 1 >/dev/null
work=$SANDBOX_DIR/test # removed with the sandbox
mkdir -p "$work"
cd "$work"
printf '[app]\nname = "keys"\n\n[app.run]\ncommand = "true"\n\n' >berth.toml
write_server_stanza e2e-hostkeys 1 web berth.toml
sed -i "s|^known_hosts = .*|known_hosts = \"$work/known_hosts\"|" berth.toml
address=$SANDBOX_ADDRESS
fingerprint=$(ssh-keygen -lf "$SANDBOX_KNOWN_HOSTS" | awk '{ print $2 }')
[ -n "$fingerprint" ] || fail "cannot read the sandbox host's fingerprint"

# Unknown (no known_hosts file at all): refused, fingerprint and the way out shown.
status=0
"$BERTH" exec -- true >/dev/null 2>err.txt || status=$?
[ "$status" = 5 ] || fail "an unknown host key should exit 5, got $status: $(cat err.txt)"
grep -q "web: host key: the server's ED25519 key $fingerprint is not in $work/known_hosts" err.txt ||
  fail "the refusal does not show the fingerprint $fingerprint: $(cat err.txt)"
grep -q -- "--accept-new-host-keys" err.txt || fail "the refusal does not say how to accept"
[ ! -s known_hosts ] || fail "a refused key was recorded"

# Every command says why, on stderr, with the hint, naming the host once.
for command in plan setup health; do
  status=0
  "$BERTH" --no-color $command >out.txt 2>err.txt || status=$?
  [ "$status" = 5 ] || fail "$command with an unknown host key should exit 5, got $status: $(cat out.txt err.txt)"
  grep -q "web: host key: the server's ED25519 key $fingerprint is not in $work/known_hosts" err.txt ||
    fail "$command does not print the reason on stderr: $(cat out.txt err.txt)"
  grep -q -- "--accept-new-host-keys" err.txt || fail "$command does not print the hint: $(cat err.txt)"
  if grep -q "web: web:" out.txt err.txt; then fail "$command names the host twice: $(cat out.txt err.txt)"; fi
done

# Unknown (empty file): same.
: >known_hosts
status=0
"$BERTH" exec -- true >/dev/null 2>&1 || status=$?
[ "$status" = 5 ] || fail "an unknown host key (empty known_hosts) should exit 5, got $status"

# Accepted with the flag, and recorded: the next run needs no flag.
"$BERTH" --accept-new-host-keys exec -- true >/dev/null 2>err.txt ||
  fail "--accept-new-host-keys did not accept: $(cat err.txt)"
ssh-keygen -F "$address" -f known_hosts >/dev/null || fail "the accepted key is not in known_hosts"
"$BERTH" exec -- true >/dev/null 2>err.txt || fail "the recorded key is not trusted: $(cat err.txt)"

# Changed: another key recorded for the address on line 2. Refused even with the flag.
ssh-keygen -q -t ed25519 -N '' -f impostor
{
  echo "# berth test"
  echo "$address $(cut -d' ' -f1,2 impostor.pub)"
} >known_hosts
for flag in "" --accept-new-host-keys; do
  status=0
  "$BERTH" $flag exec -- true >/dev/null 2>err.txt || status=$?
  [ "$status" = 5 ] || fail "a changed host key should exit 5 (flag '$flag'), got $status"
  grep -q "web: host key: the server's ED25519 key $fingerprint does not match the key recorded at $work/known_hosts:2" err.txt ||
    fail "the refusal does not name the known_hosts line (flag '$flag'): $(cat err.txt)"
done
grep -q impostor known_hosts 2>/dev/null || [ "$(wc -l <known_hosts)" = 2 ] ||
  fail "known_hosts was modified after a changed key"

# A key of another type for the address counts as changed too.
ssh-keygen -q -t ecdsa -N '' -f other_type
echo "$address $(cut -d' ' -f1,2 other_type.pub)" >known_hosts
status=0
"$BERTH" --accept-new-host-keys exec -- true >/dev/null 2>err.txt || status=$?
[ "$status" = 5 ] || fail "a key of another type should be refused, got $status: $(cat err.txt)"
grep -q "does not match the key recorded at $work/known_hosts:1" err.txt ||
  fail "no changed-key error for another key type: $(cat err.txt)"

echo PASS
