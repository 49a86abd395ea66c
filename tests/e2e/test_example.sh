# The README demo, end to end, on its own sandbox (e2e-example): scripts/demo.sh
# itself (with this $BERTH, so no install or build) boots the host, writes the
# example's berth.sandbox.toml, runs check, setup, deploy and health, and prints the
# URL and curl commands; the printed curl commands work as printed. Then through
# nginx over https: sign up, sign in, create a subscription renewing tomorrow,
# `berth jobs run reminders`, and the reminder for that subscription is in the job's
# output (exactly once: a second run sends nothing); `berth jobs` shows the run.
# The example is copied to a temp folder, so the source tree is left as it is.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn
need_programs node npm curl

sandbox=e2e-example
work=$(mktemp -d /tmp/berth-e2e-example.XXXXXX)
trap 'status=$?; cd /; rm -rf "$work"; _berth_test_cleanup "$status"' EXIT
# A sandbox left by an earlier, killed run would be reused by the demo: start clean.
"$BERTH" -q sandbox down "$sandbox"
BERTH_TEST_SANDBOXES+=("$sandbox")

example=$work/subscription-tracker
mkdir "$example"
tar -C "$BERTH_SOURCE_DIR/examples/subscription-tracker" \
  --exclude=node_modules --exclude=.berth --exclude=berth.sandbox.toml -cf - . | tar -C "$example" -xf -

# --- the demo, as the README runs it ----------------------------------------------------
echo "== scripts/demo.sh"
BERTH_DEMO_SANDBOX=$sandbox BERTH_DEMO_EXAMPLE=$example BERTH_DEMO_RELEASE=${BERTH_E2E_RELEASE:-12} \
  sh "$BERTH_SOURCE_DIR/scripts/demo.sh" >"$work/demo.out" 2>"$work/demo.err" || {
  cat "$work/demo.err" "$work/demo.out" >&2
  fail "scripts/demo.sh failed"
}
cat "$work/demo.err" "$work/demo.out"
address=$(sandbox_address "$sandbox" 1)
[ -n "$address" ] || fail "the demo left no sandbox $sandbox"
grep -q '^\[servers\.web\]$' "$example/berth.sandbox.toml" || fail "berth.sandbox.toml has no [servers.web]"
grep -qx "address = \"$address\"" "$example/berth.sandbox.toml" || fail "berth.sandbox.toml does not hold $address"
for step in "berth -e sandbox setup" "berth -e sandbox deploy" "berth -e sandbox health"; do
  grep -q "^== \[[0-9]/8\] .*($step" "$work/demo.err" || fail "the demo did not say it ran $step"
done
grep -q "is live on 1 app host(s)" "$work/demo.out" || fail "the demo's deploy did not report a live release"
grep -qx "subscription-tracker is deployed on the sandbox $sandbox: https://$address/" "$work/demo.out" ||
  fail "the demo did not print the URL https://$address/"
grep -q "berth sandbox down $sandbox\$" "$work/demo.out" || fail "the demo did not say how to tear down"

# The curl commands it printed, run exactly as printed.
sed -n '/^Try it:$/,/^$/p' "$work/demo.out" | sed '1d' >"$work/try.sh"
grep -q "curl -k https://$address/health" "$work/try.sh" || fail "the demo printed no health curl"
grep -q "curl -k https://$address/api/signup" "$work/try.sh" || fail "the demo printed no signup curl"
tried=$(bash "$work/try.sh" 2>/dev/null) || fail "the printed curl commands failed: $(cat "$work/try.sh")"
case $tried in
'{"status":"ok","db":"ok"}{"token":"'*) echo "ok   the printed curl commands work" ;;
*) fail "the printed curl commands answered: $tried" ;;
esac

# --- the API through nginx, over https ------------------------------------------------------
# req METHOD PATH [BODY] [TOKEN]: sets $status and $body.
req() {
  local args=(-sk -o "$work/body" -w '%{http_code}' --max-time 20 -X "$1" "https://$address$2")
  [ -n "${3:-}" ] && args+=(-H 'content-type: application/json' --data-binary "$3")
  [ -n "${4:-}" ] && args+=(-H "authorization: Bearer $4")
  status=$(curl "${args[@]}") || fail "curl $1 https://$address$2 failed"
  body=$(cat "$work/body")
}
# field NAME: a top-level field of the last body.
field() { node -e 'const b=JSON.parse(require("fs").readFileSync(0,"utf8"));console.log(b[process.argv[1]])' "$1" <<<"$body"; }
expect() { # expect WHAT WANT GOT
  [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3' (body: $body)"
  echo "ok   $1"
}

email="e2e-$(date +%s)-$$@example.com"
req POST /api/signup "{\"email\":\"$email\",\"password\":\"correct horse\"}"
expect "sign up through nginx is 201" 201 "$status"
req POST /api/signin "{\"email\":\"$email\",\"password\":\"correct horse\"}"
expect "sign in through nginx is 200" 200 "$status"
token=$(field token)
case $token in "" | undefined) fail "sign in returned no token: $body" ;; esac
req POST /api/signin "{\"email\":\"$email\",\"password\":\"wrong horse\"}"
expect "sign in with a wrong password is 401" 401 "$status"

# "Tomorrow" for the server, which runs in UTC ([base] timezone).
tomorrow=$(date -u -d '+1 day' +%F)
name="E2E streaming $$"
req POST /api/subscriptions "{\"name\":\"$name\",\"price_cents\":1299,\"currency\":\"EUR\",\"renews_on\":\"$tomorrow\"}" "$token"
expect "creating a subscription renewing tomorrow is 201" 201 "$status"
sub=$(field id)
req GET "/api/subscriptions?renewing_within=1" "" "$token"
expect "it is listed as renewing within a day" 200 "$status"
node -e 'const b=JSON.parse(require("fs").readFileSync(0,"utf8"));
  process.exit(b.subscriptions.some(s => s.id === Number(process.argv[1])) ? 0 : 1)' "$sub" <<<"$body" ||
  fail "subscription $sub is not in the list: $body"

# --- the reminders job, run now -------------------------------------------------------------
cd "$example"
"$BERTH" -e sandbox jobs run reminders >"$work/run.out" 2>"$work/run.err" || {
  cat "$work/run.err" "$work/run.out" >&2
  fail "berth jobs run reminders failed"
}
cat "$work/run.out"
want="reminder: sub=$sub user=$email name=$name renews_on=$tomorrow"
grep -qF "web | $want" "$work/run.out" || fail "no '$want' in the job's output"
echo "ok   the job's output has the reminder for subscription $sub"
grep -qE '^web \| reminders: [1-9][0-9]* sent, 0 failed' "$work/run.out" || fail "the job did not report its sends"
grep -q "^web: job reminders succeeded" "$work/run.out" || fail "berth did not report the run as succeeded"

"$BERTH" -e sandbox --json jobs run reminders >"$work/run.json" || fail "the second run failed"
node -e '
  const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const h = d.hosts[0];
  if (d.job !== "reminders" || !d.ok || h.host !== "web" || h.result !== "success" || h.exit_status !== 0)
    throw new Error("unexpected --json run: " + JSON.stringify(d));
  if (h.output.some(l => l.includes("sub=" + process.argv[2] + " ")))
    throw new Error("the second run sent the reminder again: " + h.output.join("\n"));
  if (!h.output.some(l => /^reminders: 0 sent, 0 failed/.test(l)))
    throw new Error("the second run did not say it sent nothing: " + h.output.join("\n"));
' "$work/run.json" "$sub" || fail "berth --json jobs run reminders, a second time"
echo "ok   a second run (--json) sends nothing twice"

"$BERTH" -e sandbox jobs >"$work/list.out" || fail "berth jobs failed"
cat "$work/list.out"
grep -qE '^web +reminders +0 8 \* \* \* +enabled +[0-9T:-]+Z +success +[0-9T:-]+Z$' "$work/list.out" ||
  fail "berth jobs does not show reminders enabled on web with its last run and next run"
echo "ok   berth jobs shows the last run and the next one"

# A job that is not in the manifest is a usage error.
set +e
"$BERTH" -e sandbox jobs run nosuchjob 2>"$work/bad.err"
bad=$?
set -e
expect "an unknown job exits 64" 64 "$bad"
grep -q "its jobs: reminders" "$work/bad.err" || fail "the error does not list the jobs: $(cat "$work/bad.err")"

"$BERTH" -e sandbox health >/dev/null || fail "berth health fails after the job ran"
"$BERTH" -e sandbox plan --detailed-exitcode >"$work/plan.out" 2>&1 || {
  cat "$work/plan.out"
  fail "plan is not clean after the demo"
}
echo "ok   a re-plan finds nothing to change"
# Release facts come from the server: PostgreSQL's config is in its own version's folder.
pg=$([ "${BERTH_E2E_RELEASE:-12}" = 13 ] && echo 17 || echo 15)
"$BERTH" sandbox ssh "$sandbox" -- test -f "/etc/postgresql/$pg/main/conf.d/berth.conf" ||
  fail "berth.conf is not in PostgreSQL $pg's folder on Debian ${BERTH_E2E_RELEASE:-12}"
echo "ok   PostgreSQL $pg's folder holds berth's settings"
echo "PASS"
