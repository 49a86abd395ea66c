# Manifest values reach the server as data (issue 20): hostile text in env values,
# secrets (a multi-line PEM among them), header values (literal, from ${env:} and from
# ${secret:}) and bot user agents is applied on a real host; the app's environment is
# byte-exact with no extra variable, nginx serves each header byte-exact with no extra
# one, the secret header is in no output and no file other users can read, no command
# hidden in a value ran. What check refuses it refuses with file:line:col, before any
# connection.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
. "$BERTH_SOURCE_DIR/tests/e2e/deploy_lib.sh"
skip_unless_root_nspawn
command -v curl >/dev/null || skip "needs curl"

deploy_project e2e-values 1
"$BERTH" -q deploy >/dev/null || fail "the first deploy failed"

echo "== check refuses names and text no target can take, each at its place"
cp berth.toml good.toml
cat >>berth.toml <<'TOML'

[app.run.env]
"A B\nEVIL_KEY" = "1"

[base]
journald_max_use = "300M\nStorage=none"
timezone = "../../../etc/hostname"

[databases.main]
engine = "postgresql"
name = "a b$(touch /tmp/berth-marker)"
TOML
status=0
"$BERTH" --no-color check >refused.out 2>&1 || status=$?
cat refused.out
[ $status = 1 ] || fail "check should refuse the hostile names (exit $status)"
for what in "env name 'A B\\\\x0aEVIL_KEY'" "journald_max_use '300M\\\\x0aStorage=none'" \
  "timezone '../../../etc/hostname'" "name 'a b\$(touch /tmp/berth-marker)'"; do
  grep -q "berth.toml:[0-9]*:[0-9]*: error: .*$what" refused.out || fail "check does not locate: $what"
done
key=a
for _ in $(seq 2000); do key="$key.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a"; done
printf '%s = 1\n' "$key" >>berth.toml
status=0
"$BERTH" --no-color check >deep.out 2>&1 || status=$?
head -c 300 deep.out
[ $status = 1 ] || fail "check on a key of 100,000 parts should exit 1 (got $status)"
grep -q "berth.toml:[0-9]*:[0-9]*: error: more than 128 dotted parts" deep.out || fail "the deep key has no located error"

echo "== hostile text as data"
cp good.toml berth.toml
export BERTH_E2E_PEM="-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASC
-----END PRIVATE KEY-----"
export BERTH_E2E_HEADER_SECRET='tok"en$1\x'
export BERTH_E2E_HEADER_ENV='from env; add_header X-Evil "2"'
cat >>berth.toml <<'TOML'

[app.run.env]
MESSAGE = "ok"
QUOTES = "say \"hi\" and 'bye'"
SHELL_TEXT = "$(touch /tmp/berth-marker) `touch /tmp/berth-marker2` ; {} ../ \\ $HOME"
CRLF = "line1\r\nEVIL_VAR=1"
TWO_LINES = """first
second"""

[app.run.secrets]
PEM = "${secret:BERTH_E2E_PEM}"

[proxy.headers]
X-Quote = "v\" always; add_header X-Evil \"1"
X-Dollar = "$5 $host $${x}"
X-Backslash = 'a\b\\c'
X-From-Env = "${env:BERTH_E2E_HEADER_ENV}"
X-Secret = "${secret:BERTH_E2E_HEADER_SECRET}"
TOML
sed -i 's/^\[proxy\]$/[proxy]\nbot_user_agents = ['"'"'evil"bot'"'"', '"'"'a\\b'"'"']/' berth.toml
"$BERTH" --no-color check || fail "check refuses hostile text it should carry as data"
"$BERTH" --no-color -v setup >setup.out 2>&1 || { cat setup.out; fail "setup with hostile text failed"; }
"$BERTH" --no-color --json plan >plan.json 2>&1 || true
"$BERTH" -q plan --detailed-exitcode >/dev/null || fail "plan is not clean after setup"

echo "== the app's environment, byte for byte"
sandbox_ssh e2e-values 1 'pid=$(systemctl show -p MainPID --value "shop@$(sed -n "s/.*127.0.0.1:\([0-9]*\) .*/\1/p" /etc/berth/shop/upstream.conf | head -n1).service"); base64 -w0 /proc/$pid/environ' |
  base64 -d >environ
# The value of NAME in the environ file (NUL-separated NAME=value entries).
env_value() {
  local entry
  while IFS= read -r -d '' entry; do
    case $entry in "$1="*) printf '%s' "${entry#*=}"; return 0 ;; esac
  done <environ
  return 1
}
check_var() {
  local got
  got=$(env_value "$1") || fail "env $1 is not in the app's environment"
  [ "$got" = "$2" ] || fail "env $1 arrived as [$got], not [$2]"
}
check_var QUOTES "say \"hi\" and 'bye'"
check_var SHELL_TEXT '$(touch /tmp/berth-marker) `touch /tmp/berth-marker2` ; {} ../ \ $HOME'
check_var CRLF "$(printf 'line1\r\nEVIL_VAR=1')"
check_var TWO_LINES "$(printf 'first\nsecond')"
check_var PEM "$BERTH_E2E_PEM"
names=
while IFS= read -r -d '' entry; do names="$names ${entry%%=*}"; done <environ
echo "environment:$names"
for name in $names; do
  case " MESSAGE QUOTES SHELL_TEXT CRLF TWO_LINES PEM PORT PATH LANG HOME LOGNAME USER SHELL INVOCATION_ID \
JOURNAL_STREAM SYSTEMD_EXEC_PID MEMORY_PRESSURE_WATCH MEMORY_PRESSURE_WRITE TMPDIR PWD " in
    *" $name "*) ;;
    *) fail "the environment holds $name, which the manifest did not set" ;;
  esac
done

echo "== the headers nginx serves, byte for byte, and no extra one"
curl -skD headers.txt -o /dev/null "https://$SANDBOX_ADDRESS/" || fail "the site does not answer"
tr -d '\r' <headers.txt >headers.lf
cat headers.lf
header() { sed -n "s/^$1: //Ip" headers.lf; }
[ "$(header X-Quote)" = 'v" always; add_header X-Evil "1' ] || fail "X-Quote is [$(header X-Quote)]"
[ "$(header X-Dollar)" = '$5 $host ${x}' ] || fail "X-Dollar is [$(header X-Dollar)]"
[ "$(header X-Backslash)" = 'a\b\\c' ] || fail "X-Backslash is [$(header X-Backslash)]"
[ "$(header X-From-Env)" = "$BERTH_E2E_HEADER_ENV" ] || fail "X-From-Env is [$(header X-From-Env)]"
[ "$(header X-Secret)" = "$BERTH_E2E_HEADER_SECRET" ] || fail "X-Secret is [$(header X-Secret)]"
grep -qi '^X-Evil' headers.lf && fail "a header value added a header"

echo "== bot user agents match themselves"
code() { curl -sk -o /dev/null -w '%{http_code}' -A "$1" "https://$SANDBOX_ADDRESS/"; }
[ "$(code 'x evil"bot y')" = 403 ] || fail "the user agent evil\"bot is not blocked"
[ "$(code 'a\b')" = 403 ] || fail "the user agent a\\b is not blocked"
[ "$(code 'Mozilla/5.0')" = 200 ] || fail "a browser is blocked"

echo "== the secret header: in no output, in no file other users can read"
for f in setup.out plan.json; do
  grep -qF "$BERTH_E2E_HEADER_SECRET" "$f" && fail "the header secret is in $f"
done
sandbox_ssh e2e-values 1 'stat -c "%a %U" /etc/berth/shop/headers.conf' | grep -qx '600 root' ||
  fail "the headers file with a secret is not root-only"
readable=$(sandbox_ssh e2e-values 1 "find /etc /srv /var/lib/berth /var/log -xdev -type f -perm -o+r 2>/dev/null | xargs -r grep -lF 'tok\"en' 2>/dev/null" || true)
[ -z "$readable" ] || fail "the header secret is in files others can read: $readable"

echo "== no command hidden in a value ran, and nginx accepts its config"
markers=$(sandbox_ssh e2e-values 1 'ls /tmp/berth-marker* /var/tmp/berth-marker* 2>/dev/null' || true)
[ -z "$markers" ] || fail "a value ran as a command: $markers"
sandbox_ssh e2e-values 1 'nginx -t 2>&1' | grep -q 'test is successful' || fail "nginx -t fails"
echo "PASS"
