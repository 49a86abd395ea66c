# PostgreSQL on its own host (issue 6): with the app on another sandbox host, the db
# host listens on its private address too, pg_hba lets the app host in with scram and
# nobody else (not even the db host's own private address), and the app's URL points
# at the db host with the password the db host made (the app host keeps a copy), so
# it logs in. A setup of the app host alone works from that copy; without it, it is
# refused, naming the db host, and changes nothing.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

sandbox_up e2e-db-private 2 >/dev/null
db_address=${SANDBOX_ADDRESSES[0]}
work=$(mktemp -d)
# Keep the test's exit status through the clean-up (_berth_test_cleanup STATUS).
trap 'status=$?; cd /; rm -rf "$work"; _berth_test_cleanup $status' EXIT
cp -r "$BERTH_SOURCE_DIR/examples/minimal/." "$work/"
sed -i '/^\[servers\.web\]/,/^$/d' "$work/berth.toml"
write_server_stanza e2e-db-private 1 db "$work/berth.toml"
echo 'roles = ["db"]' >>"$work/berth.toml"
write_server_stanza e2e-db-private 2 web "$work/berth.toml"
echo 'roles = ["app", "proxy"]' >>"$work/berth.toml"
cat >>"$work/berth.toml" <<'TOML'

[databases.pg]
engine = "postgresql"
TOML
cd "$work"

echo "== setup on both hosts"
"$BERTH" -q setup >/dev/null || fail "setup failed"
sandbox_ssh e2e-db-private 1 ss -Hltn | awk '{print $4}' | grep -qx "$db_address:5432" ||
  fail "postgresql does not listen on the db host's address"
sandbox_ssh e2e-db-private 2 "grep -q '@$db_address:5432/hello\"' /etc/berth/hello/app.env" ||
  fail "the app's DATABASE_URL does not point at the db host"

# With base's firewall on the db host, 5432 is open to the app host alone.
app_address=${SANDBOX_ADDRESSES[1]}
if sandbox_ssh e2e-db-private 1 nft list table inet berth >ruleset.txt 2>/dev/null; then
  cat ruleset.txt
  grep -q "postgresql for the app at $app_address" ruleset.txt || fail "the firewall does not open 5432 to the app host"
  grep 'dport 5432' ruleset.txt | grep -qv "$app_address" && fail "the firewall opens 5432 to more than the app host"
fi

echo "== the app host logs in with the URL in its env file; the db host's own address does not"
pw=$(sandbox_ssh e2e-db-private 1 cat /etc/berth/hello/secrets/db_pg_password)
[ -n "$pw" ] || fail "the db host has no generated password"
# app_url: the DATABASE_URL in the app host's env file.
app_url() { sandbox_ssh e2e-db-private 2 "sed -n 's/^DATABASE_URL=\"\(.*\)\"\$/\1/p' /etc/berth/hello/app.env"; }
url=$(app_url)
[ "$url" = "postgres://hello:$pw@$db_address:5432/hello" ] ||
  fail "the app host's DATABASE_URL does not hold the db host's password"
[ "$(sandbox_ssh e2e-db-private 2 cat /etc/berth/hello/secrets/db_pg_password)" = "$pw" ] ||
  fail "the app host's copy of the password differs from the db host's"
sandbox_ssh e2e-db-private 2 "command -v psql >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -qq -y postgresql-client >/dev/null" ||
  fail "could not install psql on the app host"
sandbox_ssh e2e-db-private 2 "psql '$url' -qtAX -c 'SELECT 42'" |
  grep -qx 42 || fail "the app host cannot log in to the db host with its DATABASE_URL"
set +e
out=$(sandbox_ssh e2e-db-private 1 "PGPASSWORD='$pw' psql -h $db_address -U hello hello -qtAX -c 'SELECT 42'" 2>&1)
set -e
echo "$out"
echo "$out" | grep -q 'no pg_hba.conf entry' || fail "a host other than the app host was let in"

echo "== the app host alone: its copy serves, nothing to change; without a copy, refused"
status=0
"$BERTH" -q --hosts web plan --detailed-exitcode >plan.txt 2>&1 || status=$?
cat plan.txt
[ "$status" = 0 ] || fail "setup of the app host alone would change something (exit $status)"
sandbox_ssh e2e-db-private 2 rm /etc/berth/hello/secrets/db_pg_password
status=0
"$BERTH" -q --hosts web setup >setup.txt 2>&1 || status=$?
cat setup.txt
[ "$status" = 1 ] || fail "setup of the app host without the password's copy or the db host should fail, got $status"
grep -q "secret db_pg_password is made on server db, which this run leaves out" setup.txt ||
  fail "the refusal does not name the db host"
[ "$(app_url)" = "$url" ] ||
  fail "the refused setup changed the app host's env file"
"$BERTH" -q setup >/dev/null || fail "setup of both hosts did not restore the copy"
[ "$(sandbox_ssh e2e-db-private 2 cat /etc/berth/hello/secrets/db_pg_password)" = "$pw" ] ||
  fail "the restored copy differs from the db host's password"
echo "PASS"
