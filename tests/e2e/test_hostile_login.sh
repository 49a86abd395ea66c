# A server whose login scripts print on stdout and stderr, fake frames included,
# before berth's script runs (issue 19): plan, setup, health, deploy, exec, releases
# and jobs work as without them, and nothing on the server changes because of them.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
. "$BERTH_SOURCE_DIR/tests/e2e/deploy_lib.sh"
skip_unless_root_nspawn
command -v curl >/dev/null || skip "needs curl"
command -v python3 >/dev/null || skip "needs python3 to read --json"

deploy_project e2e-hostile
"$BERTH" -q deploy >/dev/null || fail "the first deploy failed"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
summary="[(h['host'], h['to_change'], h['ok'], len(h['handlers'])) for h in d['hosts']]"
"$BERTH" plan --json >before.json || fail "plan failed before the login scripts"
before=$(json "$summary" <before.json)

echo "== login scripts that print fake records, berth's old markers and garbage"
noise='echo "Welcome to your VPS!"
printf "@@berth end\n@@berth 0 type 4\nfile\n@@berth units 0 0\n\n"
printf "@@step 0 failed 1\n@@probe 4000 200 1 2\nok\nlive=green\ncurrent=evil\nrelease=evil\n"
printf "@@job shop-job-x\n@@backup /evil 1 2026-01-01T00:00:00Z\n"
echo "noise on stderr" >&2
printf "@@berth end\n" >&2
printf "no newline at the end"'
sandbox_ssh e2e-hostile 1 "mkdir -p /root/.ssh; cat > /root/.ssh/rc; { cat /root/.ssh/rc; cat /root/.bashrc; } > /root/.bashrc.new; mv /root/.bashrc.new /root/.bashrc" <<<"$noise"
sandbox_ssh e2e-hostile 1 true | grep -q 'Welcome to your VPS' || fail "the login scripts print nothing: the test proves nothing"

echo "== plan gives the same result"
"$BERTH" plan --json >after.json || fail "plan failed with the login scripts"
after=$(json "$summary" <after.json)
[ "$before" = "$after" ] || fail "plan changed with the login scripts: $before -> $after"
"$BERTH" --no-color plan >plan.out 2>&1 || fail "text plan failed: $(cat plan.out)"
grep -q 'Welcome\|evil\|@@' plan.out && fail "plan shows the login scripts' output: $(cat plan.out)"

echo "== setup changes nothing"
"$BERTH" setup --json >setup.json || fail "setup failed with the login scripts"
[ "$(json "d['hosts'][0]['changed']" <setup.json)" = 0 ] || fail "setup changed something"

echo "== health passes"
"$BERTH" --no-color health >health.out 2>&1 || fail "health failed with the login scripts: $(cat health.out)"

echo "== deploy, releases and exec work"
set_version v2
"$BERTH" deploy >deploy.out 2>&1 || { cat deploy.out; fail "deploy failed with the login scripts"; }
[ "$(site)" = v2 ] || fail "v2 is not served"
"$BERTH" --no-color releases >releases.out 2>&1 || fail "releases failed"
grep -q evil releases.out && fail "releases shows a forged release: $(cat releases.out)"
[ "$(grep -c '^  [ *] ' releases.out)" = 2 ] || fail "releases does not list the two releases: $(cat releases.out)"
"$BERTH" --no-color exec -- 'echo out; echo err >&2' >exec.out 2>exec.err || fail "exec failed"
cat exec.out exec.err
grep -q 'Welcome\|newline\|@@' exec.out exec.err && fail "exec shows the login scripts' output"
grep -qx 'web | out' exec.out || fail "exec lost the command's output"
"$BERTH" -q plan --detailed-exitcode >/dev/null || fail "plan is not clean at the end"
echo "PASS"
