# berth deploy on a real host (issue 8): zero failed requests under load while v2
# replaces v1; a release failing its health check never takes traffic (exit 1, the
# condition named); a failing migration switches nothing; a second concurrent deploy
# names the lock holder; rollback returns to the previous release; the project's own
# playbooks/deploy.toml (issue 5) runs its steps in order, a failing step after the
# switch puts the previous release back, and a playbook out of order is refused.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
. "$BERTH_SOURCE_DIR/tests/e2e/deploy_lib.sh"
skip_unless_root_nspawn
command -v curl >/dev/null || skip "needs curl"

deploy_project e2e-deploy

echo "== v1"
"$BERTH" deploy || fail "the first deploy failed"
[ "$(site)" = v1 ] || fail "v1 is not served"

echo "== v2 under load: no failed request"
set_version v2
load_start
sleep 1
"$BERTH" deploy || { load_stop; fail "the v2 deploy failed"; }
sleep 1
load_stop
[ "$LOAD_TOTAL" -ge 1000 ] || fail "the load generator sent too few requests ($LOAD_TOTAL)"
[ "$LOAD_FAILED" = 0 ] || fail "$LOAD_FAILED of $LOAD_TOTAL requests failed during the deploy"
[ "$(site)" = v2 ] || fail "v2 is not served after its deploy"

echo "== a release failing its health check never takes traffic"
set_version v3
touch app/FAIL_HEALTH
load_start
set +e
"$BERTH" deploy --gate-deadline 5s >bad.out 2>&1
status=$?
set -e
load_stop
cat bad.out
rm app/FAIL_HEALTH
[ $status = 1 ] || fail "a failing release should exit 1 (got $status)"
grep -q '\[STATUS\] == 200 (observed 500)' bad.out || fail "the failing condition is not named"
[ "$LOAD_FAILED" = 0 ] || fail "$LOAD_FAILED requests failed while the bad release was tried"
[ "$(site)" = v2 ] || fail "v2 no longer serves after the failed deploy"

echo "== a failing migration switches nothing"
set_version v4
sed -i 's/^port = 4000$/port = 4000\nmigrate = "echo migration broke >\&2; exit 3"/' berth.toml
set +e
"$BERTH" deploy >mig.out 2>&1
status=$?
set -e
cat mig.out
sed -i '/^migrate = /d' berth.toml
[ $status = 1 ] || fail "a failing migration should exit 1 (got $status)"
grep -q 'migration broke' mig.out || fail "the migration's output is not shown"
[ "$(site)" = v2 ] || fail "something switched after a failed migration"

echo "== two deploys at once: the second names the lock holder"
sed -i 's/^dir = "app"$/dir = "app"\ncommand = "sleep 8"/' berth.toml
"$BERTH" -q deploy >first.out 2>&1 &
first=$!
sleep 3
set +e
"$BERTH" deploy >second.out 2>&1
status=$?
set -e
wait $first || fail "the first of two deploys failed: $(cat first.out)"
cat second.out
[ $status = 4 ] || fail "the second deploy should exit 4 (got $status)"
grep -q "lock is held by .*berth deploy" second.out || fail "the lock holder is not named"
sed -i '/^command = "sleep 8"$/d' berth.toml
[ "$(site)" = v4 ] || fail "the first deploy's release is not served"

echo "== an unreachable host: exit 5 before anything is built"
# (nothing listens on this machine's port 1: refused at once)
sed 's/^address = .*/address = "127.0.0.1"\nport = 1/' berth.toml >down.toml
set +e
"$BERTH" -f down.toml deploy >down.out 2>&1
status=$?
set -e
cat down.out
[ $status = 5 ] || fail "a deploy to an unreachable host should exit 5 (got $status)"
grep -q 'lock: .*cannot reach' down.out || fail "the connect error is not named"
! grep -q '^build$' down.out || fail "the release was built although no host could be locked"
status=0
"$BERTH" -f down.toml releases >down.out 2>&1 || status=$?
[ $status = 5 ] || fail "releases of an unreachable host should exit 5 (got $status): $(cat down.out)"

echo "== rollback goes back to the previous release"
"$BERTH" -q rollback >/dev/null || fail "rollback failed"
[ "$(site)" = v2 ] || fail "rollback does not serve v2 (got $(site))"
"$BERTH" releases

echo "== the project's own deploy playbook, through berth run: a remote step after the switch"
mkdir -p playbooks
cat >playbooks/deploy.toml <<'TOML'
[[steps]]
release = "build"
[[steps]]
release = "ship"
[[steps]]
release = "start"
[[steps]]
release = "switch"
[[steps]]
name = "warm"
remote = "echo \"$BERTH_HOST $BERTH_RELEASE $(cat version.txt)\" >/tmp/warm.out; test ! -f FAIL_WARM"
[[steps]]
health = true
deadline = "10s"
[[steps]]
release = "finalize"
TOML
set_version v5
"$BERTH" run deploy >own.out 2>&1 || { cat own.out; fail "the project's deploy playbook failed"; }
cat own.out
grep -q '^ok warm ' own.out || fail "the playbook's own step is not reported"
grep -q '^ok health .*passed in' own.out || fail "the playbook's health step is not reported"
[ "$(site)" = v5 ] || fail "the project's deploy playbook does not serve v5"
"$BERTH" -q exec -- cat /tmp/warm.out >warm.out || fail "cannot read the warm step's output"
grep -q '^web .* v5$' warm.out || fail "the remote step did not run in the release folder with BERTH_*: $(cat warm.out)"
"$BERTH" --no-color run >list.out || fail "berth run (the list) failed"
grep -q "^deploy .*playbooks/deploy.toml, 7 steps, release)" list.out && grep -q '^setup .*built-in' list.out ||
  fail "berth run does not list the project's deploy playbook and the built-in setup: $(cat list.out)"

echo "== a step failing after the switch puts the previous release back"
set_version v6
touch app/FAIL_WARM
set +e
"$BERTH" deploy >warmfail.out 2>&1
status=$?
set -e
cat warmfail.out
rm app/FAIL_WARM
[ $status = 1 ] || fail "a failing playbook step should exit 1 (got $status)"
grep -q 'warm: ' warmfail.out || fail "the failing step is not named"
grep -q 'switched back' warmfail.out || fail "the switch back is not reported"
[ "$(site)" = v5 ] || fail "v5 no longer serves after the failed step (got $(site))"

echo "== a playbook out of order is refused before anything runs"
printf '[[steps]]\nrelease = "build"\n[[steps]]\nrelease = "switch"\n' >playbooks/bad.toml
set +e
"$BERTH" run bad >bad-order.out 2>&1
status=$?
set -e
cat bad-order.out
[ $status != 0 ] || fail "a playbook that switches before starting ran"
grep -q "bad.toml:3: error: release step 'switch' needs 'start' before it" bad-order.out ||
  fail "the order problem is not named with file:line"
rm -rf playbooks
echo "PASS"
