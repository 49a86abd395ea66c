#!/bin/bash
# Tests the subscription-tracker app for real on this machine, without berth: a
# throwaway PostgreSQL cluster on 127.0.0.1 (a free high port, data in a temp
# folder), the app installed as berth builds it (`npm ci --omit=dev` in a copy of
# app/), migrations, two instances, every endpoint with curl, the reminders job
# (journal and SMTP, each twice: exactly once), forced-unhealthy and database-down
# health, and SIGTERM with a request in flight. It starts and stops its own
# PostgreSQL, app instances and fake SMTP server, and nothing else.
#
# Needs: node and npm, PostgreSQL's server binaries (Debian: apt-get install
# postgresql), curl. Run as root (PostgreSQL then runs as the postgres user) or as
# any other user (it runs as you). Exit status: 0 when every check passed.
# usage: test/local.sh        (KEEP=1 keeps the temp folder for inspection)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

pg_bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[ -d "$pg_bin" ] || pg_bin=""
if [ -z "$pg_bin" ] && command -v pg_config >/dev/null; then pg_bin=$(pg_config --bindir); fi
for tool in node npm curl; do
  command -v "$tool" >/dev/null || { echo "local.sh: $tool is missing" >&2; exit 2; }
done
[ -x "$pg_bin/initdb" ] || { echo "local.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/tracker-test.XXXXXX)
chmod 755 "$tmp"
pgdata=$tmp/pgdata
release=$tmp/release
logs=$tmp/logs
mail=$tmp/mail
mkdir -p "$logs" "$mail"

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

declare -A app_pids=()
smtp_pid=""
pg_started=0

cleanup() {
  local pid
  for pid in "${app_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${app_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$smtp_pid" ]; then kill "$smtp_pid" 2>/dev/null || true; wait "$smtp_pid" 2>/dev/null || true; fi
  if [ "$pg_started" = 1 ]; then as_pg "$pg_bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { # check DESCRIPTION EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected '$2', got '$3'"; fi
}
contains() { # contains DESCRIPTION NEEDLE HAYSTACK
  local text=$3
  [ "${#text}" -le 600 ] || text="...${text: -600}"
  case "$3" in *"$2"*) ok "$1" ;; *) not_ok "$1: '$2' not in '$text'" ;; esac
}

# --- PostgreSQL -------------------------------------------------------------------
pg_port=$(free_port)
chown -R postgres: "$tmp" 2>/dev/null || true
as_pg "$pg_bin/initdb" -D "$pgdata" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
  -E UTF8 --locale=C.UTF-8 >"$logs/initdb.log"
cat >>"$pgdata/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$tmp'
timezone = 'UTC'
fsync = off
EOF
start_pg() { as_pg "$pg_bin/pg_ctl" -D "$pgdata" -l "$logs/postgresql.log" -w start >/dev/null; }
start_pg
pg_started=1
psql_admin() { as_pg "$pg_bin/psql" -h "$tmp" -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -qtAX "$@"; }
db_password=$(node -e 'console.log(require("crypto").randomBytes(18).toString("base64url"))')
psql_admin -c "CREATE ROLE tracker LOGIN PASSWORD '$db_password'"
psql_admin -c "CREATE DATABASE tracker OWNER tracker"
echo "postgresql $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"

# --- the release, built as berth builds it ----------------------------------------
mkdir -p "$release"
tar -C "$here/app" --exclude=node_modules -cf - . | tar -C "$release" -xf -
(cd "$release" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >"$logs/npm.log" 2>&1) ||
  { cat "$logs/npm.log"; exit 1; }
ok "npm ci --omit=dev in a copy of app/ ($(find "$release/node_modules" -mindepth 1 -maxdepth 1 | wc -l) packages)"

export DATABASE_URL="postgres://tracker:$db_password@127.0.0.1:$pg_port/tracker"
export JWT_SECRET
JWT_SECRET=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')
export NODE_ENV=production
unset HEALTH_FAIL SMTP_HOST SMTP_PORT SMTP_USER SMTP_PASSWORD REMINDER_DAYS || true

# --- migrations --------------------------------------------------------------------
out=$(cd "$release" && node migrate.js 2>&1)
contains "migrate applies every migration" "3 migration(s) applied" "$out"
out=$(cd "$release" && node migrate.js 2>&1)
contains "migrate is idempotent" "up to date (3 migrations)" "$out"
check "schema_migrations has 3 rows" 3 "$(psql_admin -d tracker -c 'SELECT count(*) FROM schema_migrations')"
printf 'CREATE TABLE broken (\n  id int,\n  oops nosuchtype\n);\n' >"$release/migrations/900_broken.sql"
set +e
out=$(cd "$release" && node migrate.js 2>&1)
status=$?
set -e
rm "$release/migrations/900_broken.sql"
check "a failing migration exits non-zero" 1 "$status"
contains "a failing migration names the file, line and SQL error" \
  '900_broken.sql (line 3): type "nosuchtype" does not exist' "$out"
check "a failing migration leaves nothing behind" "" \
  "$(psql_admin -d tracker -c "SELECT to_regclass('broken')")"

# --- two instances -------------------------------------------------------------------
start_instance() { # start_instance NAME PORT [ENV=VALUE...]
  local name=$1 port=$2
  shift 2
  (cd "$release" && exec env PORT="$port" "$@" node server.js >"$logs/$name.log" 2>&1) &
  app_pids[$name]=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/health" && return 0
    sleep 0.1
  done
  echo "instance $name did not start:"
  cat "$logs/$name.log"
  exit 1
}
port_a=$(free_port)
port_b=$(free_port)
start_instance a "$port_a"
start_instance b "$port_b"
echo "instances on 127.0.0.1:$port_a and 127.0.0.1:$port_b"

# req METHOD PORT PATH [BODY] [TOKEN] -> sets $status, $body
req() {
  local args=(-s -o "$tmp/body" -w '%{http_code}' -X "$1" "http://127.0.0.1:$2$3")
  [ -n "${4:-}" ] && args+=(-H 'content-type: application/json' --data-binary "$4")
  [ -n "${5:-}" ] && args+=(-H "authorization: Bearer $5")
  status=$(curl "${args[@]}")
  body=$(cat "$tmp/body")
}
# json EXPRESSION: evaluates a JavaScript expression over the last body (`b`).
json() { node -e 'const b=JSON.parse(require("fs").readFileSync(0,"utf8"));const v=('"$1"');console.log(typeof v==="string"?v:JSON.stringify(v))' <<<"$body"; }

for p in "$port_a" "$port_b"; do
  req GET "$p" /health
  check "GET /health on :$p is 200" 200 "$status"
  check "GET /health on :$p says db ok" '{"status":"ok","db":"ok"}' "$body"
done

# --- sign-up and sign-in ---------------------------------------------------------------
req POST "$port_a" /api/signup '{"email":"Ada@Example.com","password":"correct horse"}'
check "signup is 201" 201 "$status"
token=$(json b.token)
check "signup returns a 3-part token" 3 "$(tr '.' '\n' <<<"$token" | wc -l)"
req POST "$port_b" /api/signup '{"email":"ada@example.com","password":"another one"}'
check "signup with a taken email is 409 (on the other instance)" 409 "$status"
req POST "$port_a" /api/signup '{"email":"not-an-email","password":"correct horse"}'
check "signup with a bad email is 400" 400 "$status"
req POST "$port_a" /api/signup '{"email":"bob@example.com","password":"short"}'
check "signup with a short password is 400" 400 "$status"
req POST "$port_a" /api/signup '{"email":'
check "invalid JSON is 400" 400 "$status"
contains "invalid JSON says so" "invalid JSON" "$body"
req POST "$port_a" /api/signup '{"email":"bob@example.com","password":"bob password"}'
check "a second user signs up" 201 "$status"
token_bob=$(json b.token)

req POST "$port_b" /api/signin '{"email":"ada@example.com","password":"correct horse"}'
check "signin is 200 (on the other instance)" 200 "$status"
token_b=$(json b.token)
req GET "$port_a" /api/subscriptions "" "$token_b"
check "the sign-in token works" 200 "$status"
req POST "$port_a" /api/signin '{"email":"ada@example.com","password":"wrong password"}'
check "signin with a wrong password is 401" 401 "$status"
req POST "$port_a" /api/signin '{"email":"nobody@example.com","password":"whatever1"}'
check "signin with an unknown email is 401" 401 "$status"

# --- authentication --------------------------------------------------------------------
req GET "$port_a" /api/subscriptions
check "subscriptions without a token is 401" 401 "$status"
req GET "$port_a" /api/subscriptions "" "not.a.token"
check "a malformed token is 401" 401 "$status"
tampered="${token%.*}.$(printf 'x%.0s' $(seq 1 43))"
req GET "$port_a" /api/subscriptions "" "$tampered"
check "a token with a forged signature is 401" 401 "$status"
forged=$(node -e '
  const c=require("crypto"), h=Buffer.from(JSON.stringify({alg:"HS256",typ:"JWT"})).toString("base64url");
  const p=Buffer.from(JSON.stringify({sub:1,exp:Math.floor(Date.now()/1000)+60})).toString("base64url");
  console.log(h+"."+p+"."+c.createHmac("sha256","another secret").update(h+"."+p).digest("base64url"))')
req GET "$port_a" /api/subscriptions "" "$forged"
check "a token signed with another secret is 401" 401 "$status"
expired=$(cd "$release" && node -e 'console.log(require("./lib/jwt").sign({sub:1},process.env.JWT_SECRET,-10))')
req GET "$port_a" /api/subscriptions "" "$expired"
check "an expired token is 401" 401 "$status"
req GET "$port_b" /api/subscriptions "" "$token"
check "a token from instance a works on instance b" 200 "$status"

# --- subscriptions CRUD ------------------------------------------------------------------
day() { date -u -d "+$1 day" +%F; }
req POST "$port_a" /api/subscriptions "{\"name\":\"Video streaming\",\"price_cents\":1299,\"currency\":\"eur\",\"renews_on\":\"$(day 1)\"}" "$token"
check "create is 201" 201 "$status"
sub1=$(json b.id)
check "create returns the subscription (currency upper-cased, default period)" "EUR monthly $(day 1)" "$(json '[b.currency,b.period,b.renews_on].join(" ")')"
req POST "$port_a" /api/subscriptions "{\"name\":\"Cloud storage\",\"price_cents\":999,\"period\":\"yearly\",\"renews_on\":\"$(day 3)\"}" "$token"
sub2=$(json b.id)
req POST "$port_a" /api/subscriptions "{\"name\":\"Newspaper\",\"price_cents\":500,\"renews_on\":\"$(day 30)\"}" "$token"
sub3=$(json b.id)
req POST "$port_a" /api/subscriptions "{\"name\":\"Gym\",\"price_cents\":3000,\"renews_on\":\"$(day 2)\"}" "$token"
sub4=$(json b.id)
req POST "$port_b" /api/subscriptions "{\"name\":\"Music\",\"price_cents\":1099,\"renews_on\":\"$(day 0)\"}" "$token_bob"
check "bob creates one on instance b" 201 "$status"
sub_bob=$(json b.id)
req POST "$port_a" /api/subscriptions "{\"name\":\"Domain\",\"price_cents\":1500,\"period\":\"yearly\",\"renews_on\":\"$(day 10)\"}" "$token"
sub6=$(json b.id)

req POST "$port_a" /api/subscriptions '{"price_cents":100,"renews_on":"2030-01-01"}' "$token"
check "create without a name is 400" 400 "$status"
contains "and says which field" "name is required" "$body"
req POST "$port_a" /api/subscriptions '{"name":"x","price_cents":100,"renews_on":"2030-02-30"}' "$token"
check "create with an impossible date is 400" 400 "$status"
req POST "$port_a" /api/subscriptions '{"name":"x","price_cents":-1,"renews_on":"2030-01-01"}' "$token"
check "create with a negative price is 400" 400 "$status"
req POST "$port_a" /api/subscriptions '{"name":"x","price_cents":1,"renews_on":"2030-01-01","color":"red"}' "$token"
check "create with an unknown field is 400" 400 "$status"

req GET "$port_b" /api/subscriptions "" "$token"
check "list is 200" 200 "$status"
check "list has ada's 5 subscriptions, by renewal date" "$sub1,$sub4,$sub2,$sub6,$sub3" "$(json 'b.subscriptions.map(s=>s.id).join(",")')"
req GET "$port_b" "/api/subscriptions?renewing_within=2" "" "$token"
check "list ?renewing_within=2 filters" "$sub1,$sub4" "$(json 'b.subscriptions.map(s=>s.id).join(",")')"
req GET "$port_a" "/api/subscriptions/$sub2" "" "$token"
check "get one is 200" "200 Cloud storage" "$status $(json b.name)"
req GET "$port_a" "/api/subscriptions/$sub_bob" "" "$token"
check "another user's subscription is 404" 404 "$status"
req GET "$port_a" /api/subscriptions/999999 "" "$token"
check "a missing subscription is 404" 404 "$status"
req GET "$port_a" /api/subscriptions/abc "" "$token"
check "a non-numeric id is 404" 404 "$status"
req PUT "$port_a" "/api/subscriptions/$sub3" '{"price_cents":650,"currency":"GBP"}' "$token"
check "update is 200" 200 "$status"
check "update changes the fields given, keeps the others" "650 GBP Newspaper" "$(json '[b.price_cents,b.currency,b.name].join(" ")')"
req PUT "$port_a" "/api/subscriptions/$sub3" '{"period":"daily"}' "$token"
check "update with a bad period is 400" 400 "$status"
req PUT "$port_a" "/api/subscriptions/$sub_bob" '{"price_cents":1}' "$token"
check "updating another user's subscription is 404" 404 "$status"
req DELETE "$port_a" "/api/subscriptions/$sub3" "" "$token"
check "delete is 204" 204 "$status"
req GET "$port_a" "/api/subscriptions/$sub3" "" "$token"
check "a deleted subscription is 404" 404 "$status"
req DELETE "$port_a" "/api/subscriptions/$sub_bob" "" "$token"
check "deleting another user's subscription is 404" 404 "$status"
req GET "$port_a" /nowhere
check "an unknown route is 404" 404 "$status"
req DELETE "$port_a" /api/subscriptions "" "$token"
check "a wrong method is 405" 405 "$status"
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
req POST "$port_a" /api/signin "{\"email\":\"$big\"}"
check "a body over 64 KiB is 413" 413 "$status"
log_lines=$(grep -cE '^(GET|POST|PUT|DELETE) /' "$logs/a.log" || true)
contains "one log line per request on stdout" "POST /api/subscriptions 201" "$(cat "$logs/a.log")"
echo "     ($log_lines request lines in instance a's log)"

# --- reminders job -----------------------------------------------------------------------
# Due within 3 days: sub1 (+1), sub4 (+2), sub2 (+3), bob's (+0); not sub6 (+10);
# sub3 (+30) was deleted.
out=$(cd "$release" && node jobs/reminders.js 2>&1)
check "reminders: one line per due subscription" 4 "$(grep -c '^reminder: sub=' <<<"$out" || true)"
contains "reminders: the line names sub, user, name and date" \
  "reminder: sub=$sub1 user=ada@example.com name=Video streaming renews_on=$(day 1)" "$out"
out=$(cd "$release" && node jobs/reminders.js 2>&1)
check "reminders: a rerun sends nothing new" 0 "$(grep -c '^reminder: sub=' <<<"$out" || true)"
contains "reminders: a rerun says so" "0 sent, 0 failed" "$out"
out=$(cd "$release" && REMINDER_DAYS=30 node jobs/reminders.js 2>&1)
check "reminders: REMINDER_DAYS=30 widens the window" "$sub6" "$(sed -n 's/^reminder: sub=\([0-9]*\) .*/\1/p' <<<"$out")"

node "$here/test/fake-smtp.js" "$tmp/smtp.port" "$mail" >"$logs/smtp.log" 2>&1 &
smtp_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/smtp.port" ] && break; sleep 0.1; done
smtp_port=$(cat "$tmp/smtp.port")
mails() { find "$mail" -name '*.eml' | wc -l; }
req POST "$port_a" /api/subscriptions "{\"name\":\"VPN\",\"price_cents\":499,\"renews_on\":\"$(day 0)\"}" "$token"
sub5=$(json b.id)
req PUT "$port_a" "/api/subscriptions/$sub2" "{\"renews_on\":\"$(day 2)\"}" "$token"
smtp_env=(SMTP_HOST=127.0.0.1 SMTP_PORT="$smtp_port" SMTP_USER=reminders SMTP_PASSWORD=smtp-test-password SMTP_FROM=reminders@tracker.test)
out=$(cd "$release" && env "${smtp_env[@]}" node jobs/reminders.js 2>&1)
check "reminders over SMTP: the new one and the moved renewal" "$sub5 $sub2" \
  "$(sed -n 's/^reminder: sub=\([0-9]*\) .*mailed=yes$/\1/p' <<<"$out" | sort -n -r | tr '\n' ' ' | sed 's/ $//')"
check "reminders over SMTP: the server got 2 mails" 2 "$(mails)"
mail1=$(cat "$mail"/*.eml)
contains "the mail goes to the user" "X-Envelope-To: <ada@example.com>" "$mail1"
contains "the mail was sent with SMTP AUTH" "X-Auth: reminders" "$mail1"
contains "the mail names the subscription" "Subject: VPN renews on $(day 0)" "$mail1"
out=$(cd "$release" && env "${smtp_env[@]}" node jobs/reminders.js 2>&1)
check "reminders over SMTP: a rerun mails nothing (reminders, mails)" "0 2" \
  "$(grep -c '^reminder: sub=' <<<"$out" || true) $(mails)"
req POST "$port_a" /api/subscriptions "{\"name\":\"Backup\",\"price_cents\":100,\"renews_on\":\"$(day 1)\"}" "$token"
set +e
out=$(cd "$release" && SMTP_HOST=127.0.0.1 SMTP_PORT="$(free_port)" node jobs/reminders.js 2>&1)
status=$?
set -e
check "reminders: an unreachable SMTP server fails the run" 1 "$status"
contains "reminders: and says which reminder failed" "failed:" "$out"
out=$(cd "$release" && node jobs/reminders.js 2>&1)
check "reminders: the failed one is sent by the next run" 1 "$(grep -c '^reminder: sub=' <<<"$out" || true)"

# --- forced unhealthy and database down ---------------------------------------------------
port_c=$(free_port)
start_instance c "$port_c" HEALTH_FAIL=1
req GET "$port_c" /health
check "HEALTH_FAIL=1 makes /health 500" 500 "$status"
kill "${app_pids[c]}"
wait "${app_pids[c]}" || true
unset 'app_pids[c]'
touch "$release/FAIL_HEALTH"
req GET "$port_a" /health
check "a FAIL_HEALTH file makes /health 500" 500 "$status"
rm "$release/FAIL_HEALTH"
req GET "$port_a" /health
check "removing FAIL_HEALTH makes it 200 again" 200 "$status"

as_pg "$pg_bin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null
pg_started=0
req GET "$port_a" /health
check "with PostgreSQL down /health is 503" "503 {\"status\":\"error\",\"db\":\"down\"}" "$status $body"
start_pg
pg_started=1
req GET "$port_a" /health
check "with PostgreSQL back /health is 200" 200 "$status"

# --- graceful shutdown ----------------------------------------------------------------------
out=$(timeout 60 node "$here/test/inflight.js" "$port_a" "${app_pids[a]}" ada@example.com "correct horse" 2>&1 || true)
contains "SIGTERM: the server answered 100 Continue (request in flight)" "interim answer: HTTP/1.1 100 Continue" "$out"
contains "SIGTERM: new connections are refused at once" "new connections refused: true" "$out"
contains "SIGTERM: the in-flight request is answered" "in-flight answer: HTTP/1.1 200 OK; connection: close" "$out"
contains "SIGTERM: with a valid token (database still reachable)" '{"token":"' "$out"
set +e
wait "${app_pids[a]}"
status=$?
set -e
unset 'app_pids[a]'
check "SIGTERM: the instance exits 0" 0 "$status"
contains "SIGTERM: the instance logs its shutdown" "shutdown: done" "$(cat "$logs/a.log")"
req GET "$port_b" /health
check "the other instance still serves" 200 "$status"

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
