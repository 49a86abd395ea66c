# An environment change through `berth setup` restarts the app with zero downtime
# (issue 29): the live release starts again on the idle color with the new
# environment, is checked, switched to and gated; under a steady request load no
# request fails, the new value is served and plan is clean. It runs twice on one host:
# for app shop with two instances per color (the default site), then for app single
# with one (its own domain, beside shop: issue 27).
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
. "$BERTH_SOURCE_DIR/tests/e2e/deploy_lib.sh"
skip_unless_root_nspawn
command -v curl >/dev/null || skip "needs curl"

deploy_project e2e-restart 2
host_header=()
env_value() { curl -sk --max-time 5 "${host_header[@]}" "https://$SANDBOX_ADDRESS/env"; }
set_message() {
  sed -i '/^\[app\.run\.env\]/,/^$/d' berth.toml
  printf '\n[app.run.env]\nMESSAGE = "%s"\n\n' "$1" >>berth.toml
}

# restarts APP: the scenario, in the current project.
restarts() {
  local app=$1
  echo "== $app: before any deploy, an environment change restarts nothing"
  set_message zero
  "$BERTH" --no-color setup >first.out 2>&1 || { cat first.out; fail "setup before any deploy failed"; }
  cat first.out
  grep -q 'nothing to restart' first.out || fail "setup does not say there is nothing to restart yet"
  "$BERTH" -q deploy >/dev/null || fail "the first deploy failed"
  [ "$(env_value)" = zero ] || fail "the first value is not served"

  echo "== $app: plan says that the app will start again"
  set_message one
  "$BERTH" --no-color plan >plan.out 2>&1 || true
  cat plan.out
  grep -q "~ release:$app  (then the live release starts again on the idle color, gated on health)" plan.out ||
    fail "plan does not say the app restarts"

  echo "== $app: setup under load: the new environment, and no failed request"
  under_load setup.out setup
  [ "$STATUS" = 0 ] || fail "setup with a new environment failed"
  [ "$LOAD_FAILED" = 0 ] || fail "$LOAD_FAILED of $LOAD_TOTAL requests failed while setup restarted the app"
  [ "$LOAD_TOTAL" -gt 100 ] || fail "the load sent only $LOAD_TOTAL requests: the test proves nothing"
  grep -q '== restart (web)' setup.out || fail "setup does not name the restart"
  grep -q '^ok gate' setup.out || fail "setup does not show the restart's gate"
  [ "$(env_value)" = one ] || fail "the new value is not served after setup"
  "$BERTH" -q plan --detailed-exitcode >/dev/null || fail "plan is not clean after setup"
  [ -z "$(sandbox_ssh e2e-restart 1 'ls /var/lib/berth/owed/ 2>/dev/null')" ] || fail "an owed record is left"

  echo "== $app: an environment that fails the gate: switched back, the old one serves, the restart stays owed"
  set_message broken
  under_load failed.out setup --gate-deadline 5s
  [ "$STATUS" = 1 ] || fail "a restart that fails its gate should exit 1 (got $STATUS)"
  grep -q 'switched back: the previous release keeps serving' failed.out || fail "setup does not say it switched back"
  [ "$LOAD_FAILED" = 0 ] || fail "$LOAD_FAILED of $LOAD_TOTAL requests failed around the failed restart"
  [ "$(env_value)" = one ] || fail "the old environment does not serve after the switch back"
  "$BERTH" --no-color plan >owed.out 2>&1 || true
  cat owed.out
  grep -q "~ release:$app  (owed by an interrupted run; then" owed.out || fail "plan does not show the owed restart"

  echo "== $app: the next setup with a good environment finishes it"
  set_message two
  "$BERTH" -q setup >/dev/null || fail "setup after the failed restart failed"
  [ "$(env_value)" = two ] || fail "the new value is not served"
  "$BERTH" -q plan --detailed-exitcode >/dev/null || fail "plan is not clean after the good environment"

  echo "== $app: the instances nginx sends requests to were stopped: health and plan say so, setup starts them"
  sandbox_ssh e2e-restart 1 "systemctl stop '$app@*.service'"
  "$BERTH" -q health >/dev/null 2>&1 && fail "health passes with the live instances stopped"
  status=0
  "$BERTH" --no-color plan --detailed-exitcode >stopped.out 2>&1 || status=$?
  cat stopped.out
  [ $status = 2 ] || fail "plan --detailed-exitcode should exit 2 with the live instances stopped (got $status)"
  grep -q "command:live-instances:$app" stopped.out || fail "plan does not name the stopped instances"
  "$BERTH" -q setup >/dev/null || fail "setup did not start the live instances"
  # They were down: give them 15 s to listen.
  for _ in $(seq 30); do [ "$(env_value)" = two ] && break; sleep 0.5; done
  [ "$(env_value)" = two ] || fail "the app does not serve after setup started it"
  "$BERTH" -q plan --detailed-exitcode >/dev/null || fail "plan is not clean at the end"
}

restarts shop

# single: one instance per color, its own domain on the same host.
mkdir -p "$PROJECT/single"
cp -r "$PROJECT/app" "$PROJECT/single/"
sed -e 's/^name = "shop"$/name = "single"/' -e 's/^port = 4000$/port = 4100/' -e 's/^instances = 2$/instances = 1/' \
  -e 's/^tls = "self-signed"$/tls = "self-signed"\ndomains = ["single.test"]/' -e '/^\[app\.run\.env\]/,/^$/d' \
  "$PROJECT/berth.toml" >"$PROJECT/single/berth.toml"
cd "$PROJECT/single"
"$BERTH" -q setup >/dev/null || fail "single's setup failed"
host_header=(-H "Host: single.test")
LOAD_CURL_FLAGS="-H Host:single.test"
restarts single
echo "PASS"
