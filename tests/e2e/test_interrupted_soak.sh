# Interrupted runs under a steady request load (issue 29): each round changes the
# release (deploy) or the environment (setup), kills the run at a random moment,
# by SIGKILL of berth or by killing its SSH sessions on the server (the scripts they
# ran keep running there, cut off), then runs the same command again, as a CI retry
# would. Every round must end with the change served, plan clean, no lock and no owed
# work left, and not one failed request. SOAK_ROUNDS sets the rounds (default 4; the
# issue's soak is SOAK_ROUNDS=20), SOAK_SEED the random seed (printed).
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
. "$BERTH_SOURCE_DIR/tests/e2e/deploy_lib.sh"
skip_unless_root_nspawn
command -v curl >/dev/null || skip "needs curl"
rounds=${SOAK_ROUNDS:-4}
seed=${SOAK_SEED:-$(date +%s)}
# Round N's choices, from the seed alone: "COMMAND HOW DELAY".
choices() {
  awk -v seed="$seed" -v round="$1" 'BEGIN {
    srand((seed % 1000000) * 100 + round)
    printf "%s %s %.2f\n", rand() < 0.5 ? "deploy" : "setup", rand() < 0.5 ? "berth" : "session", 0.2 + rand() * 4.6
  }'
}
echo "rounds=$rounds seed=$seed (SOAK_SEED=$seed repeats them)"

deploy_project e2e-soak 2
env_value() { curl -sk --max-time 5 "https://$SANDBOX_ADDRESS/env"; }
set_message() {
  sed -i '/^\[app\.run\.env\]/,/^$/d' berth.toml
  printf '\n[app.run.env]\nMESSAGE = "%s"\n\n' "$1" >>berth.toml
}
set_message m0
"$BERTH" -q setup >/dev/null || fail "setup failed"
"$BERTH" -q deploy >/dev/null || fail "the first deploy failed"

# Kills, on the server, the sshd process of every session but the one running this.
kill_sessions() {
  sandbox_ssh e2e-soak 1 '
    mine=" "; p=$$
    while [ "$p" -gt 1 ]; do mine="$mine$p "; p=$(awk "/^PPid:/ { print \$2 }" /proc/$p/status); done
    for p in $(pgrep -f "^sshd: [a-z]+@notty"); do
      case $mine in *" $p "*) ;; *) kill -9 "$p" && echo "killed sshd $p" ;; esac
    done' || true
}

served=0
for round in $(seq "$rounds"); do
  read -r command how delay < <(choices "$round")
  if [ "$command" = deploy ]; then
    set_version "v$round"
    expect() { [ "$(site)" = "v$round" ]; }
  else
    set_message "m$round"
    expect() { [ "$(env_value)" = "m$round" ]; }
  fi
  echo "== round $round: $command, its $how killed after $delay s"
  load_start
  "$BERTH" --no-color "$command" >killed.out 2>&1 &
  pid=$!
  sleep "$delay"
  if ! kill -0 $pid 2>/dev/null; then
    echo "(it ended before the kill)"
  elif [ $how = berth ]; then
    kill -9 $pid
  else
    kill_sessions
  fi
  status=0
  wait $pid || status=$?
  sed 's/^/  | /' killed.out
  echo "killed run: exit $status"
  status=0
  "$BERTH" --no-color "$command" >rerun.out 2>&1 || status=$?
  sleep 1
  load_stop
  if [ $status != 0 ]; then
    cat rerun.out
    fail "round $round: the rerun of $command exited $status (seed $seed)"
  fi
  [ "$LOAD_FAILED" = 0 ] || fail "round $round: $LOAD_FAILED of $LOAD_TOTAL requests failed (seed $seed)"
  expect || fail "round $round: the change of the $command is not served (seed $seed)"
  "$BERTH" --no-color plan --detailed-exitcode >plan.out 2>&1 || {
    cat plan.out
    fail "round $round: plan is not clean after the rerun (seed $seed)"
  }
  left=$(sandbox_ssh e2e-soak 1 'ls -d /var/lib/berth/shop/lock /var/lib/berth/owed/* 2>/dev/null' || true)
  [ -z "$left" ] || fail "round $round: left behind: $left (seed $seed)"
  served=$((served + 1))
done
echo "$served/$rounds rounds served, converged, without a lock left or a failed request"
echo "PASS"
