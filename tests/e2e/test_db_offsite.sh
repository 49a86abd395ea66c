# Off-host backups (issue 26) on two sandbox hosts: web (the subscription-tracker app,
# nginx and PostgreSQL) and vault (the backup server, restic's repository over SFTP).
# - setup: vault lets in one SFTP-only, chrooted user with berth's key; web gets restic,
#   the key, vault's host key and the repository's password, none readable by others.
# - rows written through the app; `berth db backup` streams a snapshot to vault;
#   `db verify` restores it into a scratch database and the query passes; `db backups`
#   lists it as verified; `health` passes offsite:main and verified:main.
# - a truncated dump (pg_dump wrapped on web) is stored, then fails verification: `db
#   verify` exits 1 naming the snapshot, `health` fails verified:main, and the verify
#   unit's failure reaches the journal and the webhook. An empty dump is refused.
# - web destroyed (`sandbox down`), a fresh host set up from the same manifest, `db
#   restore --snapshot latest`, deploy: the user signs in and the app serves their rows.
# Debian 12 (restic 0.14); MariaDB, Redis and Debian 13 are test_db_offsite_targets.sh's.
# - neither the repository's password nor the SSH key appears in any output.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn
need_programs node npm curl jq python3

sandbox_up e2e-offsite-vault 1 >/dev/null
vault_address=$SANDBOX_ADDRESS
sandbox_up e2e-offsite-web 1 >/dev/null
web_address=$SANDBOX_ADDRESS
work=$(mktemp -d /tmp/berth-e2e-offsite.XXXXXX)
hook_pid=
trap 'status=$?; [ -z "$hook_pid" ] || kill "$hook_pid" 2>/dev/null; cd /; rm -rf "$work"; _berth_test_cleanup "$status"' EXIT

# A webhook on this machine, on web's bridge: it keeps each POST's body.
hook_address=${web_address%.*}.1
cat >"$work/hook.py" <<'PY'
import http.server, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer((sys.argv[1], 18080), Hook).serve_forever()
PY
: >"$work/hook.out"
timeout 900 python3 "$work/hook.py" "$hook_address" "$work/hook.out" &
hook_pid=$!

# --- the project ----------------------------------------------------------------------------
tar -C "$BERTH_SOURCE_DIR/examples/subscription-tracker" --exclude=node_modules -cf - app | tar -C "$work" -xf -
cat >"$work/berth.toml" <<TOML
[app]
name = "tracker"

[app.build]
dir = "app"
command = "npm ci --omit=dev --no-audit --no-fund"

[app.run]
runtime = "node"
command = "node server.js"
port = 3000
migrate = "node migrate.js"

[app.run.env]
NODE_ENV = "production"

[app.run.secrets]
JWT_SECRET = { generate = true, length = 32 }

[databases.main]
engine = "postgresql"
name = "tracker"
user = "tracker"
backups = { schedule = "daily", verify = { query = "SELECT count(*) FROM users", min = 1 } }

[backups]
server = "vault"
keep_daily = 3
on_failure_webhook = "http://$hook_address:18080/hook"

[proxy]
kind = "nginx"
tls = "off"

[[health]]
name = "api"
url = "/health"
conditions = ["[STATUS] == 200", "[BODY].db == ok"]
TOML
write_server_stanza e2e-offsite-web 1 web "$work/berth.toml"
write_server_stanza e2e-offsite-vault 1 vault "$work/berth.toml"
echo 'roles = ["backup"]' >>"$work/berth.toml"
cd "$work"
outputs=$work/outputs # everything berth printed, searched for the secrets at the end
mkdir "$outputs"

web() { sandbox_ssh e2e-offsite-web 1 "$@"; }
vault() { sandbox_ssh e2e-offsite-vault 1 "$@"; }
# api METHOD PATH [BODY] [TOKEN]: "STATUS BODY" of a request through nginx on web.
api() {
  curl -s -m 10 -X "$1" -H 'content-type: application/json' ${4:+-H "authorization: Bearer $4"} \
    ${3:+-d "$3"} -w '\n%{http_code}' "http://$web_address$2"
}
signin() { api POST /api/signin '{"email":"alice@example.com","password":"correct horse battery"}'; }
token_of() { head -n 1 | jq -r .token; }

echo "== setup: vault holds the repository, web backs up into it"
must setup setup -v
must deploy deploy
[ "$(api POST /api/signup '{"email":"alice@example.com","password":"correct horse battery"}' | tail -n 1)" = 201 ] ||
  fail "signup through the app failed"
token=$(signin | token_of)
[ -n "$token" ] && [ "$token" != null ] || fail "signin through the app failed"
[ "$(api POST /api/subscriptions '{"name":"Netflix","price_cents":1299,"renews_on":"2027-01-15"}' "$token" |
  tail -n 1)" = 201 ] || fail "creating a subscription failed"
# The backup server: an SFTP-only chrooted login, nothing else.
vault "sshd -T -C user=backup-tracker,host=web,addr=$web_address" >"$work/sshd-T"
grep -qx 'forcecommand internal-sftp' "$work/sshd-T" && grep -qx 'chrootdirectory /srv/berth-backup/tracker' "$work/sshd-T" ||
  fail "vault's sshd does not confine backup-tracker: $(grep -E 'forcecommand|chroot' "$work/sshd-T")"
vault "sshd -T -C user=root,host=web,addr=$web_address" | grep -qx 'forcecommand none' ||
  fail "vault's Match block leaks to other users"
web "test -e /srv/berth-backup" && fail "web has a backup server's folder"

echo "== a backup streams a snapshot to vault, and it verifies"
must backup db backup main
cat "$outputs/backup.out"
grep -Eq '^web: snapshot [0-9a-f]{8} \(.*\) in the repository on vault$' "$outputs/backup.out" ||
  fail "db backup did not report a snapshot"
first=$(awk '{print $3}' "$outputs/backup.out")
vault "find /srv/berth-backup/tracker/repo/snapshots -type f | wc -l" | grep -qx 1 || fail "vault holds no snapshot"
web "find /var/backups/berth/tracker/main -type f | wc -l" | grep -qx 0 || fail "a dump stayed on web"
must verify db verify main
grep -q "^web: snapshot $first of main restores, and the query gave 1$" "$outputs/verify.out" ||
  fail "db verify: $(cat "$outputs/verify.out")"
web "runuser -u postgres -- psql -qtAX -c \"SELECT count(*) FROM pg_database WHERE datname LIKE 'berth_verify%'\"" |
  grep -qx 0 || fail "the scratch database was left behind"
must backups --json db backups main
jq -s -e --arg id "$first" '.[0] | .repository == "vault" and (.snapshots | length == 1) and .snapshots[0].id == $id
  and .snapshots[0].host == "web" and .snapshots[0].verified == "ok" and .snapshots[0].bytes > 0' \
  "$outputs/backups.out" >/dev/null || fail "db backups: $(cat "$outputs/backups.out")"
must health-ok --json health --only offsite,verified
jq -s -e '[.[0].checks[] | select(.name == "offsite:main" or .name == "verified:main") | .ok] == [true, true]' \
  "$outputs/health-ok.out" >/dev/null || fail "health of the backups: $(cat "$outputs/health-ok.out")"

echo "== a truncated dump is stored, then fails verification, loudly"
web "printf '#!/bin/sh\n/usr/bin/pg_dump \"\$@\" | head -c 2000\n' >/usr/local/bin/pg_dump && chmod 755 /usr/local/bin/pg_dump"
must truncated db backup main
truncated=$(awk '{print $3}' "$outputs/truncated.out")
run_berth verify-bad db verify main
cat "$outputs/verify-bad.err"
[ "$status" = 1 ] || fail "db verify of a truncated dump: exit $status, want 1"
grep -q "error: web: snapshot $truncated of main failed verification: the copy does not restore" \
  "$outputs/verify-bad.err" || fail "db verify does not name the snapshot and why"
run_berth health-bad health --only verified
cat "$outputs/health-bad.out"
[ "$status" = 1 ] || fail "health after a failed verification: exit $status, want 1"
grep -Eq '^web +verified:main +FAIL +failed +\[VERIFY_RESULT\] == ok' "$outputs/health-bad.out" ||
  fail "health does not name the database's failed verification"
# The timer's run: its failure reaches the journal and the webhook.
web systemctl start tracker-db-main-verify.service && fail "the verify unit passed a truncated dump"
for _ in $(seq 20); do
  [ -s "$work/hook.out" ] && break
  sleep 0.5
done
# jq -s: an empty file is no report (jq -e alone passes empty input).
jq -s -e 'any(.[]; .app == "tracker" and .job == "tracker-db-main-verify" and .host == "e2e-offsite-web"
  and .result == "exit-code")' "$work/hook.out" >/dev/null || fail "the webhook got no failure report: '$(cat "$work/hook.out")'"
web "journalctl -q -p err -t tracker-job-failed" | grep -q 'job tracker-db-main-verify of tracker failed on e2e-offsite-web' ||
  fail "the failure is not in the journal at priority err: $(web "journalctl -q -t tracker-job-failed")"
web "printf '#!/bin/sh\nexit 0\n' >/usr/local/bin/pg_dump"
run_berth empty db backup main
[ "$status" = 1 ] && grep -q "the dump was empty: nothing was kept" "$outputs/empty.err" ||
  fail "an empty dump was not refused: exit $status, $(cat "$outputs/empty.err")"
web rm -f /usr/local/bin/pg_dump
must good db backup main
must verify-good db verify main

echo "== secrets: nothing readable by other users, nothing in any output"
must key db backup-key
key=$(cat "$outputs/key.out")
[ "${#key}" -ge 32 ] || fail "db backup-key printed '$key'"
for host in web vault; do
  # Every file under berth's folders that holds the password is root's, 0600.
  $host "grep -rlF -- '$key' /etc /usr/local/lib/berth /var/lib/berth /srv 2>/dev/null | xargs -r stat -c '%a %U %n'" >"$work/holders"
  [ -s "$work/holders" ] || fail "$host holds no copy of the repository's password"
  awk '$1 != "600" || $2 != "root"' "$work/holders" | grep . && fail "$host: a file holding the password is readable by others"
  echo "ok   $host: $(wc -l <"$work/holders") file(s) hold the password, each 0600 root"
done
web "stat -c '%a %U' /etc/berth/tracker/backup/id_ed25519 /etc/berth/tracker/backup" | sort -u | tr '\n' ' ' |
  grep -qx '600 root 700 root ' || fail "the SSH key or its folder is readable by others"
vault "ls /etc/berth/tracker/backup 2>/dev/null; grep -rl 'OPENSSH PRIVATE KEY' /etc/berth /srv 2>/dev/null" | grep . &&
  fail "the private key has a copy on vault"
key_line=$(web "sed -n 2p /etc/berth/tracker/backup/id_ed25519")

echo "== web lost: a fresh host from the same manifest, restored from the repository"
"$BERTH" -q sandbox down e2e-offsite-web >/dev/null
sandbox_up e2e-offsite-web 1 >/dev/null
fresh_address=$SANDBOX_ADDRESS
sed -i '/^\[servers\.web\]/,/^$/d' berth.toml
write_server_stanza e2e-offsite-web 1 web "$work/berth.toml"
web_address=$fresh_address
web "test -e /etc/berth" && fail "the new host is not fresh"
must setup-fresh setup
must restore db restore main --snapshot latest --yes
grep -q "^web: restored snapshot " "$outputs/restore.out" || fail "db restore: $(cat "$outputs/restore.out")"
must deploy-fresh deploy
token=$(signin | token_of)
[ -n "$token" ] && [ "$token" != null ] || fail "alice cannot sign in after the restore: $(signin)"
api GET /api/subscriptions "" "$token" | head -n 1 | jq -s -e '.[0].subscriptions | map(.name) == ["Netflix"]' >/dev/null ||
  fail "the app does not serve alice's subscription after the restore"
echo "ok   alice signs in on the fresh host and the app serves her subscription"

for secret in "$key" "$key_line"; do
  if grep -rlF -- "$secret" "$outputs" | grep -v '/key\.out$'; then fail "a secret appears in berth's output"; fi
done
echo PASS
