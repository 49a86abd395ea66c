# PostgreSQL replicas and a switchover (issue 25), on three sandbox hosts: app (app and
# proxy, examples/subscription-tracker's app), db1 (the primary) and db2 (its replica).
# - setup clones db2 from db1; a user signed up through the app is on db2 within 1 s;
#   `berth health` shows each side streaming (exit 0); plan has nothing to change.
# - PostgreSQL stopped on db2: health exits 1 naming the replica on both db servers;
#   started again: exit 0.
# - `berth db promote main --to db2` while signups run through the app: every signup the
#   app acknowledged is on db2, signups succeed afterwards, and the write-unavailable
#   window is printed (berth's figure and the client's).
# - setup with the old manifest is refused, naming the record, and changes nothing.
# - with the manifest as promote says, `berth db rejoin main db1`: db1 streams from db2,
#   and plan has nothing to change.
# - db1's data broken: health names it, setup leaves it alone (plan: nothing to change),
#   and `berth db rejoin main db1` copies the primary afresh (pg_rewind cannot).
# - neither the app's database password nor the replication role's appears in any
#   output (setup -v, plan -v, health and promote --json, rejoin -v, the refusal).
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn
need_programs node npm curl jq

sandbox=e2e-db-replicas
sandbox_up "$sandbox" 3 >/dev/null
app_address=${SANDBOX_ADDRESSES[0]}
db1_address=${SANDBOX_ADDRESSES[1]}
db2_address=${SANDBOX_ADDRESSES[2]}
work=$(mktemp -d /tmp/berth-e2e-replicas.XXXXXX)
load_pid=
stop_load() {
  [ -n "$load_pid" ] || return 0
  touch "$work/stop-load"
  wait "$load_pid" 2>/dev/null || true
  load_pid=
}
trap 'status=$?; stop_load; cd /; rm -rf "$work"; _berth_test_cleanup "$status"' EXIT

# --- the project: the example's app, three servers, a replica -----------------------------
tar -C "$BERTH_SOURCE_DIR/examples/subscription-tracker" --exclude=node_modules -cf - app | tar -C "$work" -xf -
cat >"$work/berth.toml" <<'TOML'
[app]
name = "tracker"

[app.build]
dir = "app"
command = "npm ci --omit=dev --no-audit --no-fund"

[app.run]
runtime = "node"
command = "node server.js"
port = 3000
instances = 2
migrate = "node migrate.js"

[app.run.env]
NODE_ENV = "production"

[app.run.secrets]
JWT_SECRET = { generate = true, length = 32 }

[databases.main]
engine = "postgresql"
name = "tracker"
user = "tracker"
replicas = ["db2"]

[proxy]
kind = "nginx"
tls = "off"
rate_limit = { requests_per_second = 1000, burst = 1000 }

[[health]]
name = "api"
url = "/health"
conditions = ["[STATUS] == 200", "[BODY].db == ok"]
TOML
write_server_stanza "$sandbox" 1 app "$work/berth.toml"
echo 'roles = ["app", "proxy"]' >>"$work/berth.toml"
write_server_stanza "$sandbox" 2 db1 "$work/berth.toml"
echo 'roles = ["db"]' >>"$work/berth.toml"
write_server_stanza "$sandbox" 3 db2 "$work/berth.toml"
echo 'roles = ["db"]' >>"$work/berth.toml"
cd "$work"
outputs=$work/outputs   # everything berth printed, searched for the passwords at the end
mkdir "$outputs"

# sql HOST QUERY: QUERY on host HOST's (1-3) PostgreSQL as postgres, in the app's database.
sql() { sandbox_ssh "$sandbox" "$1" "runuser -u postgres -- psql -qtAX tracker -c \"$2\"" 2>/dev/null; }
# receiver HOST: "status sender" of HOST's WAL receiver (empty on a primary).
receiver() {
  sandbox_ssh "$sandbox" "$1" "cd / && runuser -u postgres -- psql -qtAX -c \"SELECT status || ' ' || sender_host FROM pg_stat_wal_receiver\"" 2>/dev/null
}
# signup EMAIL: the HTTP status of a signup through nginx on the app host.
signup() {
  curl -s -o /dev/null -m 5 -w '%{http_code}' -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"correct horse battery\"}" "http://$app_address/api/signup"
}

echo "== setup: db2 is cloned from db1 and streams"
run_berth setup -v setup
[ "$status" = 0 ] || { cat "$outputs/setup.err" "$outputs/setup.out"; fail "setup failed (exit $status)"; }
[ "$(receiver 3)" = "streaming $db1_address" ] || fail "db2 does not stream from db1: '$(receiver 3)'"
grep -q "^DATABASE_REPLICA_URL=\"postgres://tracker:.*@$db2_address:5432/tracker\"" \
  <(sandbox_ssh "$sandbox" 1 cat /etc/berth/tracker/app.env) || fail "the app has no DATABASE_REPLICA_URL naming db2"
run_berth plan -v plan --detailed-exitcode
[ "$status" = 0 ] || { cat "$outputs/plan.out"; fail "plan after setup: exit $status, want 0 (nothing to change)"; }
run_berth deploy deploy
[ "$status" = 0 ] || { cat "$outputs/deploy.err" "$outputs/deploy.out"; fail "deploy failed (exit $status)"; }

echo "== a user signed up through the app is on db2 within 1 s"
[ "$(signup first@example.com)" = 201 ] || fail "the signup through the app failed"
acked=$(date +%s%N)
seen=
while [ $(($(date +%s%N) - acked)) -lt 1000000000 ]; do
  if [ "$(sql 3 "SELECT count(*) FROM users WHERE email = 'first@example.com'")" = 1 ]; then
    seen=$((($(date +%s%N) - acked) / 1000000))
    break
  fi
done
[ -n "$seen" ] || fail "the row written on db1 was not on db2 within 1 s"
echo "ok   on db2 after ${seen} ms (an ssh round trip included)"

echo "== health: both sides stream"
run_berth health-ok health --json
[ "$status" = 0 ] || { cat "$outputs/health-ok.out"; fail "health of the healthy set: exit $status, want 0"; }
jq -e --arg db1 "$db1_address" '
  (.checks[] | select(.host == "db1" and .name == "replication") | .ok and (.target | startswith("primary (db2 streaming")))
  and (.checks[] | select(.host == "db2" and .name == "replication") | .ok and (.target | startswith("replica of " + $db1 + " (streaming")))' \
  "$outputs/health-ok.out" >/dev/null || fail "health does not show db2 streaming from db1: $(cat "$outputs/health-ok.out")"

echo "== PostgreSQL stopped on db2: health fails on both sides, then passes again"
sandbox_ssh "$sandbox" 3 systemctl stop postgresql.service 'postgresql@*.service'
run_berth health-down health --only replication
cat "$outputs/health-down.out"
[ "$status" = 1 ] || fail "health with the replica down: exit $status, want 1"
grep -Eq '^db1 +replication +FAIL +db2 ' "$outputs/health-down.out" || fail "db1's replication check does not name db2"
grep -q 'error: replica db2 is not streaming from this primary' "$outputs/health-down.out" ||
  fail "db1 does not say that db2 is not streaming"
grep -Eq '^db2 +replication +FAIL' "$outputs/health-down.out" || fail "db2's replication check does not fail"
sandbox_ssh "$sandbox" 3 systemctl start postgresql.service
for _ in $(seq 30); do
  run_berth health-up health --only replication
  [ "$status" = 0 ] && break
  sleep 1
done
[ "$status" = 0 ] || { cat "$outputs/health-up.out"; fail "health after PostgreSQL started again on db2: exit $status"; }

echo "== promote db2 while users sign up"
: >"$work/load"
(
  n=0
  while [ ! -e "$work/stop-load" ] && [ "$n" -lt 2000 ]; do
    n=$((n + 1))
    echo "$n $(signup "load-$n@example.com") $(date +%s.%N)" >>"$work/load"
    sleep 0.02
  done
) &
load_pid=$!
sleep 2
run_berth promote --json db promote main --to db2
sleep 2
stop_load
cat "$outputs/promote.out" >&2
[ "$status" = 0 ] || { cat "$outputs/promote.err"; fail "db promote: exit $status"; }
jq -e '.ok and .primary == "db2" and .fenced and (.fenced_lsn | length > 0) and .manifest == "[databases.main] replicas = [\"db1\"]"' \
  "$outputs/promote.out" >/dev/null || fail "the promote's JSON: $(cat "$outputs/promote.out")"
[ "$(receiver 3)" = "" ] && [ "$(sql 3 'SELECT pg_is_in_recovery()')" = f ] || fail "db2 is not a primary"
awk '$2 == 201 { print "load-" $1 "@example.com" }' "$work/load" | sort >"$work/acked"
sql 3 "SELECT email FROM users WHERE email LIKE 'load-%'" | sort >"$work/on-db2"
lost=$(comm -23 "$work/acked" "$work/on-db2" | wc -l)
[ "$lost" = 0 ] || fail "$lost signup(s) the app acknowledged are not on db2"
total=$(wc -l <"$work/load")
failed=$(awk '$2 != 201' "$work/load" | wc -l)
[ "$(tail -n 5 "$work/load" | awk '$2 == 201' | wc -l)" = 5 ] || fail "signups fail after the promote: $(tail -n 5 "$work/load")"
window=$(awk '$2 != 201 { if (first == "") first = $3; last = $3 } END { if (first == "") print 0; else printf "%.2f", last - first }' "$work/load")
echo "ok   $total signups, $(wc -l <"$work/acked") acknowledged and all on db2; $failed failed over ${window} s" \
  "(client); berth: db2 took writes after $(jq .promoted_after_seconds "$work/outputs/promote.out") s, the app's restarted instances" \
  "used it after $(jq .app_after_seconds "$work/outputs/promote.out") s"

echo "== setup with the manifest that still names db1 is refused, and changes nothing"
env_before=$(sandbox_ssh "$sandbox" 1 cat /etc/berth/tracker/app.env)
grep -q "^DATABASE_URL=\"postgres://tracker:.*@$db2_address:5432/tracker\"" <<<"$env_before" ||
  fail "the app's DATABASE_URL does not name db2 after the promote"
run_berth refused setup
cat "$outputs/refused.err"
[ "$status" = 1 ] || fail "setup with the outdated manifest: exit $status, want 1"
grep -q "the manifest names db1 the PostgreSQL primary" "$outputs/refused.err" ||
  fail "the refusal does not say why"
grep -q "/etc/berth/tracker/postgresql-primary says db2" "$outputs/refused.err" || fail "the refusal does not name the record"
[ "$(sandbox_ssh "$sandbox" 1 cat /etc/berth/tracker/app.env)" = "$env_before" ] || fail "the refused setup changed app.env"

echo "== the manifest as promote says; db1 rejoins as a replica of db2"
sed -i 's/^replicas = \["db2"\]$/replicas = ["db1"]/' berth.toml
run_berth rejoin -v db rejoin main db1
cat "$outputs/rejoin.out"
[ "$status" = 0 ] || { cat "$outputs/rejoin.err"; fail "db rejoin: exit $status"; }
[ "$(receiver 2)" = "streaming $db2_address" ] || fail "db1 does not stream from db2: '$(receiver 2)'"
[ "$(sql 2 "SELECT count(*) FROM users WHERE email = 'first@example.com'")" = 1 ] || fail "db1 lost the first user"
run_berth plan-after plan -v --detailed-exitcode
[ "$status" = 0 ] || { cat "$outputs/plan-after.out"; fail "plan after the rejoin: exit $status, want 0"; }
run_berth health-after health --json --only replication
[ "$status" = 0 ] || { cat "$outputs/health-after.out"; fail "health after the rejoin: exit $status"; }

echo "== a broken replica is reported, not cloned again by setup; rejoin copies the primary afresh"
sandbox_ssh "$sandbox" 2 "systemctl stop 'postgresql@*.service' && rm /var/lib/postgresql/*/main/global/pg_control"
run_berth health-broken health --only replication
[ "$status" = 1 ] || { cat "$outputs/health-broken.out"; fail "health with db1's data broken: exit $status, want 1"; }
grep -Eq '^db2 +replication +FAIL +db1 ' "$outputs/health-broken.out" || fail "db2 does not name the broken replica db1"
run_berth plan-broken plan --detailed-exitcode
[ "$status" = 0 ] || { cat "$outputs/plan-broken.out"; fail "plan would touch the broken replica (exit $status)"; }
run_berth rejoin-broken db rejoin main db1
[ "$status" = 0 ] || { cat "$outputs/rejoin-broken.err"; fail "db rejoin of the broken replica: exit $status"; }
grep -q "db1 streams from db2 (a fresh copy by pg_basebackup)" "$outputs/rejoin-broken.out" ||
  fail "the broken replica was not copied afresh: $(cat "$outputs/rejoin-broken.out")"
[ "$(receiver 2)" = "streaming $db2_address" ] || fail "db1 does not stream after the fresh copy: '$(receiver 2)'"
[ "$(sql 2 "SELECT count(*) FROM users WHERE email = 'first@example.com'")" = 1 ] || fail "the fresh copy lacks the first user"
sandbox_ssh "$sandbox" 2 "! ls -d /var/lib/postgresql/*/main.berth-old 2>/dev/null" || fail "the old data folder was left behind"

echo "== no output holds a password"
for secret in db_main_password postgresql_replication_password; do
  value=$(sandbox_ssh "$sandbox" 2 cat "/etc/berth/tracker/secrets/$secret")
  [ "${#value}" -ge 16 ] || fail "db1 has no $secret"
  if grep -rlF -- "$value" "$outputs"; then fail "$secret appears in the output above"; fi
done
echo "PASS"
