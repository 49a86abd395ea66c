# Off-host backups into an S3-compatible bucket (issue 26): s3rver (npm) runs on this
# machine, on the sandbox host's bridge, over https with a certificate of a CA made here
# (over http, restic's S3 client signs its uploads in chunks s3rver stores as they are);
# the host's PostgreSQL backs up into it.
# - setup: restic on the host, the bucket's keys in a root-only environment file, the
#   repository's password the operator's own ([backups] key, from the environment).
# - rows written; `berth db backup` stores a snapshot in the bucket; `db verify` restores
#   it into a scratch database and the query passes; `db backups` lists it as verified.
# - the table dropped; `db restore --snapshot latest`: the rows are back.
# - the S3 secret key and the repository's password appear in no output and in no file
#   readable by other users.
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

[backups]
s3 = { endpoint = "https://$s3_address:4568", bucket = "berth-backups", access_key_id = "S3RVER", secret_access_key = "\${env:BERTH_TEST_S3_SECRET}", ca_cert = "\${env:BERTH_TEST_S3_CA}" }
key = "\${env:BERTH_TEST_BACKUP_KEY}"
TOML
outputs=$work/outputs
mkdir "$outputs"
psql_host() { sandbox_ssh e2e-offsite-s3 1 "cd / && runuser -u postgres -- psql -qtAX hello -c \"$1\""; }

echo "== setup; a backup goes into the bucket and verifies"
must setup setup -v
psql_host "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'alpha'), (2, 'beta')" ||
  fail "could not write rows"
must backup db backup main
grep -Eq "^web: snapshot [0-9a-f]{8} \(.*\) in the repository on https://$s3_address:4568/berth-backups\$" \
  "$outputs/backup.out" || fail "db backup: $(cat "$outputs/backup.out")"
find "$work/bucket/berth-backups" -path '*hello/snapshots/*' | grep -q . || fail "the bucket holds no snapshot"
must verify db verify main
grep -q "restores, and the query gave 2$" "$outputs/verify.out" || fail "db verify: $(cat "$outputs/verify.out")"
must backups --json db backups main
jq -s -e '.[0].snapshots | length == 1 and .[0].verified == "ok"' "$outputs/backups.out" >/dev/null ||
  fail "db backups: $(cat "$outputs/backups.out")"

echo "== the table dropped, then restored from the bucket"
psql_host "DROP TABLE notes"
must restore db restore main --snapshot latest --yes
[ "$(psql_host "SELECT body FROM notes ORDER BY id" | tr '\n' ' ')" = "alpha beta " ] || fail "the rows are not back"

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
echo PASS
