# A run cut off between a change and its handler is finished by the next run, and
# says what happened (issue 19). berth's SSH session is killed on the server at the
# exact moment: while `nginx -t` validates a new site (its reload not yet run), and
# when the app's restart after an environment change begins. Each time the rerun's
# plan shows the owed work, setup runs it, and the change is served; an invalid
# change cut off the same way leaves the previous site back in place, served throughout.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn
command -v curl >/dev/null || skip "needs curl"
command -v python3 >/dev/null || skip "needs python3 to read --json"

minimal_project e2e-interrupt
site=/etc/nginx/sites-enabled/hello.conf
headers=/etc/berth/hello/headers.conf  # [proxy.headers], included by the site
on_host() { sandbox_ssh e2e-interrupt 1 "$@"; }
header() { curl -sk -D - -o /dev/null --max-time 5 "https://$SANDBOX_ADDRESS/" | tr -d '\r' | sed -n 's/^x-berth-test: //Ip'; }
body() { curl -sk --max-time 5 "https://$SANDBOX_ADDRESS/"; }
set_header() {
  sed -i '/^\[proxy\.headers\]/,$d' berth.toml
  printf '\n[proxy.headers]\nX-Berth-Test = "%s"\n' "$1" >>berth.toml
}
plan_exit() { set +e; "$BERTH" -q plan --detailed-exitcode >/dev/null 2>&1; echo $?; set -e; }
# failing_setup OUT [ERR]: runs setup, which must exit 1; stdout to OUT, stderr to ERR (or OUT).
failing_setup() {
  local status=0
  "$BERTH" --no-color setup >"$1" 2>"${2:-$1.err}" || status=$?
  [ -n "${2:-}" ] || cat "$1.err" >>"$1"
  cat "$1" ${2:+"$2"}
  [ $status = 1 ] || fail "setup should exit 1 here (got $status)"
}

set_header one
"$BERTH" -q setup >/dev/null || fail "setup failed"
"$BERTH" -q deploy >/dev/null || fail "deploy failed"
[ "$(header)" = one ] || fail "the first header is not served"
wrap_to_kill_session e2e-interrupt 1 /usr/sbin/nginx /usr/bin/systemctl

echo "== cut off while nginx -t validates a new header: the rerun reloads nginx"
set_header two
arm_kill_session e2e-interrupt 1 /usr/sbin/nginx -t
failing_setup cut.out cut.err
grep -q 'connection lost' cut.err || fail "the error does not say the connection was lost"
grep -q "during file:$headers" cut.err || fail "the error does not name the step cut off"
grep -q 'web: web:' cut.err && fail "an error names the host twice"
grep -q 'failed=1' cut.out || fail "the summary does not count the step cut off as failed"
on_host grep -q '"two"' "$headers" || fail "the cut-off run did not get as far as the new file"
[ "$(header)" = one ] || fail "nginx serves the new header although it was never reloaded"
"$BERTH" --no-color plan >plan.out 2>&1 || true
cat plan.out
grep -q '~ reload:nginx.service  (owed by an interrupted run)' plan.out || fail "plan does not show the owed reload"
grep -q 'not validated (a run was cut off)' plan.out || fail "plan does not show the unvalidated headers file"
[ "$(plan_exit)" = 2 ] || fail "plan --detailed-exitcode should exit 2 while a reload is owed"
"$BERTH" --no-color setup || fail "the rerun failed"
[ "$(header)" = two ] || fail "the new header is not served right after the rerun"
[ "$(plan_exit)" = 0 ] || fail "plan is not clean after the rerun"
[ -z "$(on_host 'ls /var/lib/berth/owed/ 2>/dev/null')" ] || fail "owed records are left after the rerun"

echo "== cut off as the app starts again for a new environment: the rerun starts it"
sed -i 's/^GREETING = .*/GREETING = "restarted by the rerun"/' berth.toml
arm_kill_session e2e-interrupt 1 /usr/bin/systemctl restart
failing_setup cut2.out
grep -q 'connection lost' cut2.out || fail "the error does not say the connection was lost"
[ "$(body)" = "hello from berth" ] || fail "the old instance does not serve after the cut-off restart"
"$BERTH" --no-color plan >plan2.out 2>&1 || true
cat plan2.out
grep -q '~ release:hello  (owed by an interrupted run; then the live release starts again' plan2.out ||
  fail "plan does not show the owed restart"
"$BERTH" --no-color setup >rerun2.out 2>&1 || { cat rerun2.out; fail "the rerun failed"; }
cat rerun2.out
[ "$(body)" = "restarted by the rerun" ] || fail "the new environment is not served right after the rerun"
[ "$(plan_exit)" = 0 ] || fail "plan is not clean after the rerun"

echo "== an invalid site cut off during nginx -t: the rerun puts the previous one back"
mkdir -p templates/nginx
sed 's/server_tokens off;/server_tokens off;\n    bogus_directive on;/' \
  "$BERTH_SOURCE_DIR/templates/nginx/site.conf.mustache" >templates/nginx/site.conf.mustache
arm_kill_session e2e-interrupt 1 /usr/sbin/nginx -t
"$BERTH" -q setup >/dev/null 2>&1 && fail "the cut-off setup succeeded"
on_host grep -q bogus_directive "$site" || fail "the cut-off run did not get as far as the invalid file"
[ "$(header)" = two ] || fail "nginx stopped serving the previous site"
failing_setup bad.out
grep -q 'unknown directive "bogus_directive"' bad.out || fail "the rerun does not quote nginx -t"
on_host grep -q bogus_directive "$site" && fail "the invalid site is still in place after the rerun"
on_host grep -q "include $headers" "$site" || fail "the previous site is not back"
[ "$(header)" = two ] || fail "nginx does not serve the previous site"
rm -r templates
"$BERTH" -q setup >/dev/null || fail "setup with the valid template again failed"
[ "$(plan_exit)" = 0 ] || fail "plan is not clean at the end"
unwrap_programs e2e-interrupt 1 /usr/sbin/nginx /usr/bin/systemctl
echo "PASS"
