# The converge engine on a real host (issue 5): plan lists the stack on a fresh host,
# setup applies it, a re-run is one exec with nothing changed, a hand edit shows as
# one change with its diff and is put back, --json and the progress give each stage's and
# step's time, and an invalid nginx directive fails
# setup quoting `nginx -t` while nginx keeps serving the previous config.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn
command -v python3 >/dev/null || skip "needs python3 to read --json"

minimal_project e2e-converge
site=/etc/nginx/sites-enabled/hello.conf

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

echo "== plan on a fresh host lists the stack"
"$BERTH" plan --json >plan.json
for id in package:nginx package:nodejs user:hello file:$site file:/etc/berth/hello/app.env \
  file:/etc/systemd/system/hello@.service file:/etc/berth/hello/upstream.conf; do
  json "[r['action'] for r in d['hosts'][0]['resources'] if r['id'] == '$id'][0]" <plan.json |
    grep -qx create || json "[r['action'] for r in d['hosts'][0]['resources'] if r['id'] == '$id']" <plan.json |
    grep -q update || fail "plan does not create $id"
done
set +e
"$BERTH" -q plan --detailed-exitcode >/dev/null
[ $? -eq 2 ] || fail "plan --detailed-exitcode should exit 2 on a fresh host"
set -e

echo "== setup applies it, and says what each stage and step took"
"$BERTH" setup --json >first.json 2>first.err || { cat first.err; fail "setup failed on a fresh host"; }
order="['packages', 'accounts', 'layout', 'config', 'services', 'data']"
[ "$(json "[s['stage'] for s in d['hosts'][0]['stages']] == [x for x in $order if x in [s['stage'] for s in d['hosts'][0]['stages']]] and {'packages', 'config'} <= {s['stage'] for s in d['hosts'][0]['stages']}" <first.json)" = True ] ||
  fail "setup --json does not list the stages it ran, in order: $(json "d['hosts'][0].get('stages')" <first.json)"
[ "$(json "all('elapsed_ms' in r for r in d['hosts'][0]['resources'] if r['action'] != 'none')" <first.json)" = True ] ||
  fail "a changed resource has no elapsed_ms"
grep -Eq "^[a-z0-9-]+: config took [0-9.]+ s, the longest step " first.err ||
  fail "setup's progress does not say what the config stage took: $(cat first.err)"
"$BERTH" -q plan --detailed-exitcode >/dev/null || fail "plan after setup should exit 0"
sandbox_ssh e2e-converge 1 systemctl is-active nginx.service >/dev/null || fail "nginx is not active"
[ "$(sandbox_ssh e2e-converge 1 stat -c %a /etc/berth/hello/app.env)" = 600 ] || fail "env file not 0600"

echo "== a second setup changes nothing and costs one exec"
"$BERTH" setup --json >again.json
[ "$(json "d['hosts'][0]['changed']" <again.json)" = 0 ] || fail "second setup changed something"
[ "$(json "d['hosts'][0]['execs']" <again.json)" = 1 ] || fail "second setup used more than one exec"

echo "== a hand edit is one change with its diff, and setup puts it back"
# One string: ssh joins its arguments into one remote command line.
sandbox_ssh e2e-converge 1 "echo '# edited by hand' >> $site"
"$BERTH" plan --json >edited.json
[ "$(json "sum(1 for r in d['hosts'][0]['resources'] if r['action'] != 'none')" <edited.json)" = 1 ] ||
  fail "a hand edit should be exactly one change"
json "[r['diff'] for r in d['hosts'][0]['resources'] if r['id'] == 'file:$site'][0]" <edited.json |
  grep -qx -- '-# edited by hand' || fail "the diff does not show the hand edit"
"$BERTH" -q setup >/dev/null || fail "setup could not put the file back"
sandbox_ssh e2e-converge 1 "grep -q 'edited by hand' $site" && fail "the hand edit is still there"

echo "== an invalid nginx directive: setup fails quoting nginx -t, nginx keeps the old config"
mkdir -p templates/nginx
sed 's/server_tokens off;/server_tokens off;\n    bogus_directive on;/' \
  "$BERTH_SOURCE_DIR/templates/nginx/site.conf.mustache" >templates/nginx/site.conf.mustache
set +e
"$BERTH" setup >bad.out 2>&1
status=$?
set -e
cat bad.out
[ $status -eq 1 ] || fail "setup with an invalid directive should exit 1 (got $status)"
grep -q 'nginx -t' bad.out || fail "the error does not name nginx -t"
grep -q 'unknown directive "bogus_directive"' bad.out || fail "the error does not quote nginx -t"
sandbox_ssh e2e-converge 1 grep -q bogus_directive "$site" && fail "the invalid file was left in place"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$SANDBOX_ADDRESS/")
[ "$code" = 301 ] || fail "nginx does not serve the previous config (HTTP $code)"
echo "PASS"
