# Databases and their backups (issue 6) on one sandbox host: setup installs PostgreSQL,
# MariaDB and Redis with backup timers; rows written with the app's own credentials
# survive `berth db backup`, a dropped table and `berth db restore`, for each; a
# restore is refused without --yes or for a missing file; a second setup changes
# nothing and keeps the generated passwords.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn
command -v python3 >/dev/null || skip "needs python3 to read --json"

sandbox_up e2e-db-backup 1 >/dev/null
work=$(mktemp -d)
# Keep the test's exit status through the clean-up (_berth_test_cleanup STATUS).
trap 'status=$?; cd /; rm -rf "$work"; _berth_test_cleanup $status' EXIT
cp -r "$BERTH_SOURCE_DIR/examples/minimal/." "$work/"
sed -i '/^\[servers\.web\]/,/^$/d' "$work/berth.toml"
write_server_stanza e2e-db-backup 1 web "$work/berth.toml"
cat >>"$work/berth.toml" <<'TOML'

[databases.pg]
engine = "postgresql"
backups = { schedule = "daily", keep_days = 3 }

[databases.maria]
engine = "mysql"
env_var = "MARIA_URL"

[databases.cache]
engine = "redis"
TOML
cd "$work"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# on_host: runs the sh script on stdin on the sandbox host, with the app's env file loaded.
on_host() {
  sandbox_ssh e2e-db-backup 1 sh -s
}
app_env='set -a; . /etc/berth/hello/app.env; set +a
url=${MARIA_URL#mysql://}; m_user=${url%%:*}; rest=${url#*:}; export MYSQL_PWD=${rest%%@*}
rest=${rest#*@}; m_host=${rest%%:*}; m_db=${rest#*/}
maria() { mysql -h "$m_host" -P 3306 -u "$m_user" -N -B "$m_db" -e "$1"; }
pg() { psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qtAX -c "$1"; }
# redis-cli 7.0 sends AUTH with an empty user for redis://:PW@, so the password goes alone.
rd() { r_pw=${REDIS_URL#redis://:}; REDISCLI_AUTH=${r_pw%%@*} redis-cli --no-auth-warning "$@"; }'
rows() {
  on_host <<EOF
$app_env
echo "pg: \$(pg 'SELECT id, body FROM notes ORDER BY id' | tr '\n' ' ')"
echo "maria: \$(maria 'SELECT id, body FROM notes ORDER BY id' | tr '\t\n' '| ')"
echo "redis: \$(rd GET note)"
EOF
}
secrets_sum() { sandbox_ssh e2e-db-backup 1 "cat /etc/berth/hello/secrets/db_* | sha256sum"; }

echo "== setup: every database, the app's URLs, the backup timers"
"$BERTH" -q setup >/dev/null || fail "setup failed"
sandbox_ssh e2e-db-backup 1 systemctl is-active postgresql@15-main.service mariadb.service \
  redis-server.service >/dev/null || fail "postgresql, mariadb or redis is not active"
# One string: ssh joins its arguments into one remote command line.
sandbox_ssh e2e-db-backup 1 "grep -q '^MARIA_URL=\"mysql://hello:.*@127.0.0.1:3306/hello\"' /etc/berth/hello/app.env" ||
  fail "the app's env file has no MARIA_URL"
timers=$(sandbox_ssh e2e-db-backup 1 systemctl list-timers --all --no-pager)
echo "$timers"
for db in pg maria cache; do
  echo "$timers" | grep -q "hello-db-$db-backup.timer" || fail "no backup timer for $db"
  [ "$(sandbox_ssh e2e-db-backup 1 systemctl is-enabled hello-db-$db-backup.timer)" = enabled ] ||
    fail "the backup timer of $db is not enabled"
done
sandbox_ssh e2e-db-backup 1 ss -Hltn | awk '{print $4}' | grep -E ':(5432|3306|6379)$' |
  grep -v -e '^127\.0\.0\.1:' -e '^\[::1\]:' &&
  fail "a database listens on more than localhost"

echo "== write rows with the app's credentials"
on_host <<EOF || fail "could not write rows with the app's credentials"
$app_env
set -e
pg "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'alpha'), (2, 'beta')"
maria "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'alpha'), (2, 'beta')"
rd SET note alpha >/dev/null
EOF
before=$(rows)
echo "$before"
[ "$before" = "$(printf 'pg: 1|alpha 2|beta \nmaria: 1|alpha 2|beta \nredis: alpha')" ] || fail "unexpected rows: $before"

echo "== berth db backup, every engine"
"$BERTH" db backup pg >backup_pg.out || fail "db backup pg failed"
cat backup_pg.out
pg_file=$(sed -n 's|^web: \(/var/backups/berth/hello/pg/pg-[0-9TZ]*\.dump\) (.*)$|\1|p' backup_pg.out)
[ -n "$pg_file" ] || fail "db backup pg did not print the file"
"$BERTH" --json db backup maria >backup_maria.json || fail "db backup maria failed"
maria_file=$(json "d['hosts'][0]['file']['path']" <backup_maria.json)
case $maria_file in /var/backups/berth/hello/maria/maria-*.sql.gz) ;; *) fail "bad backup path $maria_file" ;; esac
[ "$(json "d['hosts'][0]['file']['bytes'] > 0" <backup_maria.json)" = True ] || fail "the maria dump is empty"
[ "$(sandbox_ssh e2e-db-backup 1 stat -c %a "$pg_file" "$maria_file" /var/backups/berth/hello/pg | tr '\n' ' ')" = "600 600 700 " ] ||
  fail "dumps must be 0600 in a 0700 folder"
"$BERTH" db list pg | grep -qF "$pg_file" || fail "db list pg does not show $pg_file"
"$BERTH" db backup cache >backup_cache.out || fail "db backup cache failed"
cache_file=$(sed -n 's|^web: \(/var/backups/berth/hello/cache/cache-[0-9TZ]*\.rdb\) (.*)$|\1|p' backup_cache.out)
[ -n "$cache_file" ] || fail "db backup cache did not print the file"

echo "== drop the tables"
on_host <<EOF || fail "could not drop the tables"
$app_env
set -e
pg "DROP TABLE notes"
maria "DROP TABLE notes"
rd DEL note >/dev/null
EOF

echo "== a restore needs --yes when not at a terminal, and an existing file"
set +e
"$BERTH" db restore pg "$pg_file" </dev/null >refused.out 2>&1
status=$?
set -e
cat refused.out
[ $status -eq 64 ] || fail "restore without --yes should exit 64 (got $status)"
grep -q -- '--yes' refused.out || fail "the refusal does not mention --yes"
set +e
"$BERTH" db restore pg /var/backups/berth/hello/pg/pg-19990101T000000Z.dump --yes >missing.out 2>&1
status=$?
set -e
cat missing.out
[ $status -eq 1 ] || fail "restoring a missing file should exit 1 (got $status)"
grep -q 'no backup /var/backups/berth/hello/pg/pg-19990101T000000Z.dump' missing.out ||
  fail "the error does not name the missing file"
set +e
"$BERTH" --json db restore pg pg-19990101T000000Z.dump --yes >missing.json 2>/dev/null
status=$?
set -e
[ $status -eq 1 ] && [ "$(json "d['ok'], d['file']" <missing.json)" = "False None" ] ||
  fail "restore --json of a missing file should say ok false, file null (exit $status)"

echo "== berth db restore, every engine, and the rows are back"
"$BERTH" db restore pg "$pg_file" --yes || fail "db restore pg failed"
"$BERTH" db restore maria "$(basename "$maria_file")" --yes || fail "db restore maria (by file name) failed"
"$BERTH" db restore cache "$cache_file" --yes || fail "db restore cache failed"
after=$(rows)
echo "$after"
[ "$after" = "$before" ] || fail "the rows did not come back: $after"

echo "== the timer's service runs the same script"
sandbox_ssh e2e-db-backup 1 systemctl start hello-db-pg-backup.service || fail "the backup service failed"
[ "$("$BERTH" --json db list pg | json "len(d['hosts'][0]['files'])")" = 2 ] ||
  fail "the backup service did not add a second dump"

echo "== a second setup changes nothing, passwords unchanged"
sum_before=$(secrets_sum)
"$BERTH" setup --json >again.json || fail "second setup failed"
[ "$(json "d['hosts'][0]['changed']" <again.json)" = 0 ] || fail "second setup changed something"
"$BERTH" -q plan --detailed-exitcode >/dev/null || fail "plan after setup should exit 0"
[ "$(secrets_sum)" = "$sum_before" ] || fail "the generated passwords changed"

echo "== MongoDB stops at the plan (this machine cannot reach repo.mongodb.org)"
cat >>berth.toml <<'TOML'

[databases.docs]
engine = "mongodb"
TOML
"$BERTH" plan --json >mongo.json || fail "plan with MongoDB failed"
for id in command:/usr/share/keyrings/mongodb-server-7.0.gpg file:/etc/apt/sources.list.d/mongodb-org-7.0.list \
  package:mongodb-org file:/etc/mongod.conf unit:mongod.service unit:hello-db-docs-backup.timer; do
  json "[r['action'] for r in d['hosts'][0]['resources'] if r['id'] == '$id']" <mongo.json |
    grep -Eqx "\['(create|update)'\]" || fail "plan does not install $id"
done
# (Commands show as updates too: their guards are checked again after package installs.
# The app's claim on the server lists its databases and files: it changes too.)
others=$(json "[r['id'] for r in d['hosts'][0]['resources'] if r['action'] != 'none' and r['kind'] != 'command' and 'mongo' not in r['id'] and 'docs' not in r['id'] and r['id'] not in ('package:curl', 'package:gnupg', 'file:/etc/berth/hello/app.env', 'file:/etc/berth/apps.d/hello.claim')]" <mongo.json)
[ "$others" = "[]" ] || fail "adding MongoDB changes more than MongoDB and the app's env: $others"
echo "PASS"
