# Off-host backups into the repositories berth does not manage (issue 26), from one
# sandbox host's PostgreSQL:
# - an S3-compatible bucket: s3rver (npm) runs on this machine, on the host's bridge, over
#   https with a certificate of a CA made here (over http, restic's S3 client signs its
#   uploads in chunks s3rver stores as they are);
# - then an SSH server with SFTP that berth does not provision (a second sandbox host with
#   a login this test makes), with the operator's key and the host key from the manifest.
# - setup: restic on the host, the bucket's keys in a root-only environment file, the
#   repository's password the operator's own ([backups] key, from the environment).
# - rows written in PostgreSQL, MariaDB and Redis; `berth db backup` stores a snapshot of
#   each in the bucket; `db verify` restores the SQL ones into a scratch database and the
#   query passes (Redis has none to run: exit 64); `db backups` lists it as verified.
# - an empty dump (pg_dump wrapped) fails the backup and leaves no snapshot.
# - the tables dropped, the key deleted; `db restore --snapshot latest`: all are back.
# - the S3 secret key and the repository's password appear in no output and in no file
#   readable by other users.
# - [backups] switched to sftp: setup, backup, verify, the table dropped and restored; a
#   host key that is not the server's refuses the connection.
# Debian 13 hosts (restic 0.18, PostgreSQL 17) unless told otherwise: test_db_offsite.sh
# runs on Debian 12 (restic 0.14), and the two restics behave differently (an empty dump:
# refused by 0.14, kept as an empty snapshot by 0.18).
BERTH_E2E_RELEASE=${BERTH_E2E_RELEASE:-13}
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn
need_programs node npm jq openssl curl

# s3rver, once per machine (npm's registry is reachable here, as for the apps' builds).
s3rver_dir=/var/cache/berth-e2e/s3rver
if [ ! -x "$s3rver_dir/node_modules/.bin/s3rver" ]; then
  mkdir -p "$s3rver_dir"
  npm install --prefix "$s3rver_dir" --no-audit --no-fund --loglevel=error s3rver@3.7.1 >&2 ||
    skip "could not install s3rver from npm"
fi

sandbox_up e2e-offsite-box 1 >/dev/null
box_address=$SANDBOX_ADDRESS
minimal_project e2e-offsite-s3
address=$SANDBOX_ADDRESS
s3_address=${address%.*}.1
s3_pid=
trap 'status=$?; [ -z "$s3_pid" ] || kill "$s3_pid" 2>/dev/null; cd /; rm -rf "$work"; _berth_test_cleanup "$status"' EXIT
mkdir "$work/bucket"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$s3_address" \
  -addext "subjectAltName=IP:$s3_address" -keyout "$work/s3.key" -out "$work/s3.crt" 2>/dev/null ||
  fail "openssl could not make a certificate"
"$s3rver_dir/node_modules/.bin/s3rver" -d "$work/bucket" -a "$s3_address" -p 4568 --silent \
  --key "$work/s3.key" --cert "$work/s3.crt" --configure-bucket berth-backups >"$work/s3rver.log" 2>&1 &
s3_pid=$!
for _ in $(seq 50); do
  curl -s -o /dev/null --cacert "$work/s3.crt" "https://$s3_address:4568/" && break
  sleep 0.2
done
BERTH_TEST_S3_CA=$(cat "$work/s3.crt")
export BERTH_TEST_S3_CA

export BERTH_TEST_S3_SECRET=S3RVER BERTH_TEST_BACKUP_KEY=correct-horse-battery-staple-backup-42
# s3rver's fixed credentials are S3RVER/S3RVER: the secret is searched for as its name.
cat >>berth.toml <<TOML

[databases.main]
engine = "postgresql"
backups = { verify = { query = "SELECT count(*) FROM notes", min = 2 } }

[databases.maria]
engine = "mysql"
env_var = "MARIA_URL"
backups = { verify = { query = "SELECT count(*) FROM notes", min = 2 } }

[databases.cache]
engine = "redis"

[backups]
s3 = { endpoint = "https://$s3_address:4568", bucket = "berth-backups", access_key_id = "S3RVER", secret_access_key = "\${env:BERTH_TEST_S3_SECRET}", ca_cert = "\${env:BERTH_TEST_S3_CA}" }
key = "\${env:BERTH_TEST_BACKUP_KEY}"
TOML
outputs=$work/outputs
mkdir "$outputs"
psql_host() { sandbox_ssh e2e-offsite-s3 1 "cd / && runuser -u postgres -- psql -qtAX hello -c \"$1\""; }

maria() { sandbox_ssh e2e-offsite-s3 1 "mysql -N -B hello -e \"$1\""; }
redis_cli='REDISCLI_AUTH=$(cat /etc/berth/hello/secrets/db_cache_password) redis-cli --no-auth-warning'

echo "== setup; a backup of each database goes into the bucket, the SQL ones verify"
must setup setup -v
psql_host "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'alpha'), (2, 'beta')" ||
  fail "could not write rows"
maria "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'alpha'), (2, 'beta')" ||
  fail "could not write MariaDB rows"
sandbox_ssh e2e-offsite-s3 1 "$redis_cli SET note alpha" | grep -qx OK || fail "could not write to Redis"
for db in maria cache; do
  must "backup-$db" db backup "$db"
done
must verify-maria db verify maria
grep -q "restores, and the query gave 2$" "$outputs/verify-maria.out" || fail "db verify maria: $(cat "$outputs/verify-maria.out")"
run_berth verify-cache db verify cache
[ "$status" = 64 ] || fail "db verify of a database without backups.verify: exit $status, want 64"
must backup db backup main
grep -Eq "^web: snapshot [0-9a-f]{8} \(.*\) in the repository on https://$s3_address:4568/berth-backups\$" \
  "$outputs/backup.out" || fail "db backup: $(cat "$outputs/backup.out")"
find "$work/bucket/berth-backups" -path '*hello/snapshots/*' | grep -q . || fail "the bucket holds no snapshot"
must verify db verify main
grep -q "restores, and the query gave 2$" "$outputs/verify.out" || fail "db verify: $(cat "$outputs/verify.out")"
must backups --json db backups main
jq -s -e '.[0].snapshots | length == 1 and .[0].verified == "ok"' "$outputs/backups.out" >/dev/null ||
  fail "db backups: $(cat "$outputs/backups.out")"

echo "== an empty dump leaves no snapshot"
sandbox_ssh e2e-offsite-s3 1 "printf '#!/bin/sh\nexit 0\n' >/usr/local/bin/pg_dump && chmod 755 /usr/local/bin/pg_dump"
run_berth empty db backup main
sandbox_ssh e2e-offsite-s3 1 rm -f /usr/local/bin/pg_dump
[ "$status" = 1 ] && grep -q "the dump was empty: nothing was kept" "$outputs/empty.err" ||
  fail "an empty dump was not refused: exit $status, $(cat "$outputs/empty.err")"
must backups-after-empty --json db backups main
jq -s -e '.[0].snapshots | length == 1' "$outputs/backups-after-empty.out" >/dev/null ||
  fail "the empty dump left a snapshot: $(cat "$outputs/backups-after-empty.out")"

echo "== the table dropped, then restored from the bucket"
psql_host "DROP TABLE notes"
maria "DROP TABLE notes"
sandbox_ssh e2e-offsite-s3 1 "$redis_cli DEL note" >/dev/null
for db in main maria cache; do
  must "restore-$db" db restore "$db" --snapshot latest --yes
done
[ "$(psql_host "SELECT body FROM notes ORDER BY id" | tr '\n' ' ')" = "alpha beta " ] || fail "the rows are not back"
[ "$(maria "SELECT body FROM notes ORDER BY id" | tr '\n' ' ')" = "alpha beta " ] || fail "the MariaDB rows are not back"
[ "$(sandbox_ssh e2e-offsite-s3 1 "$redis_cli GET note")" = alpha ] || fail "the Redis key is not back"

echo "== secrets"
must key db backup-key
[ "$(cat "$outputs/key.out")" = "$BERTH_TEST_BACKUP_KEY" ] || fail "db backup-key does not print the operator's key"
sandbox_ssh e2e-offsite-s3 1 "grep -rlF -e '$BERTH_TEST_BACKUP_KEY' -e 'AWS_SECRET_ACCESS_KEY' /etc /usr/local/lib/berth /var/lib/berth 2>/dev/null |
  xargs -r stat -c '%a %U %n'" >"$work/holders"
cat "$work/holders"
[ "$(wc -l <"$work/holders")" -ge 2 ] || fail "the password or the S3 keys are not on the host"
awk '$1 != "600" || $2 != "root"' "$work/holders" | grep . && fail "a file holding a secret is readable by others"
if grep -rlF -e "$BERTH_TEST_BACKUP_KEY" "$outputs" | grep -v '/key\.out$'; then fail "the repository's password appears in berth's output"; fi
# The secret (S3RVER, as the id is) is redacted wherever it would show.
grep -rlw S3RVER "$outputs" && fail "the S3 secret appears in berth's output"
echo "== an SSH server berth does not manage holds the repository"
ssh-keygen -q -t ed25519 -N '' -C berth-test -f "$work/box_key"
sandbox_ssh e2e-offsite-box 1 "useradd -m -s /bin/sh box && mkdir -m 700 ~box/.ssh &&
  echo '$(cat "$work/box_key.pub")' >~box/.ssh/authorized_keys && chown -R box: ~box/.ssh && chmod 600 ~box/.ssh/authorized_keys" ||
  fail "could not make the login on the SFTP server"
box_host_key=$(sandbox_ssh e2e-offsite-box 1 "cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub")
BERTH_TEST_SFTP_KEY=$(cat "$work/box_key")
export BERTH_TEST_SFTP_KEY
sed -i '/^\[backups\]/,$d' berth.toml
cat >>berth.toml <<TOML
[backups]
sftp = { address = "$box_address", user = "box", path = "repos/hello", key = "\${env:BERTH_TEST_SFTP_KEY}", host_key = "$box_host_key" }
key = "\${env:BERTH_TEST_BACKUP_KEY}"
TOML
must setup-sftp setup
must backup-sftp db backup main
grep -Eq "^web: snapshot [0-9a-f]{8} \(.*\) in the repository on box@$box_address:repos/hello\$" \
  "$outputs/backup-sftp.out" || fail "db backup over sftp: $(cat "$outputs/backup-sftp.out")"
sandbox_ssh e2e-offsite-box 1 "ls ~box/repos/hello/snapshots | wc -l" | grep -qx 1 || fail "the SFTP server holds no snapshot"
must verify-sftp db verify main
psql_host "DROP TABLE notes"
must restore-sftp db restore main --snapshot latest --yes
[ "$(psql_host "SELECT body FROM notes ORDER BY id" | tr '\n' ' ')" = "alpha beta " ] ||
  fail "the rows are not back from the SFTP server"
# Another host key than the server's: no connection, and the backup says so.
other_key=$(sandbox_ssh e2e-offsite-s3 1 "cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub")
sed -i "s|host_key = \"$box_host_key\"|host_key = \"$other_key\"|" berth.toml
must setup-wrong-key setup
run_berth backup-wrong-key db backup main
[ "$status" = 1 ] || fail "a backup to a server whose host key is not the manifest's: exit $status, want 1"
# ssh's own words come from berth's check of the connection alone, not from restic passing
# them on (which may exit before it has).
grep -q "Host key verification failed" "$outputs/backup-wrong-key.err" &&
  grep -q "the SSH connection to box@$box_address port 22 fails" "$outputs/backup-wrong-key.err" ||
  fail "the refused host key is not named: $(cat "$outputs/backup-wrong-key.err")"
if grep -rlF -- "$(sed -n 2p "$work/box_key")" "$outputs"; then fail "the SFTP key appears in berth's output"; fi
echo PASS
