# TLS through an ACME server: Debian's pebble runs inside the sandbox host on
# 127.0.0.1:14000 (HTTP-01 validation on port 80, the domain mapped to 127.0.0.1 in
# the host's /etc/hosts). `berth setup` with tls = "letsencrypt" starts nginx on a
# bootstrap certificate, has certbot issue one through its webroot and switches nginx
# to it; the deploy's health gate and `berth health` then verify it with pebble's
# root (fetched from pebble's management port), as curl does. certbot trusts pebble's
# own listener through REQUESTS_CA_BUNDLE, set by the project's override of
# templates/nginx/certbot.env.mustache. A forced renewal goes through the deploy hook.
# Switching back to tls = "self-signed" replaces the links and drops the hook.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

domain=acme.berth.test
sandbox_up e2e-px-acme 1 >/dev/null
PROJECT=$(mktemp -d)
cleanup() {
  local status=$?
  set +e
  cd / && rm -rf "$PROJECT"
  _berth_test_cleanup "$status"
}
trap cleanup EXIT
cd "$PROJECT"
on_host() { sandbox_ssh e2e-px-acme 1 "$@"; }

# pebble with a listener certificate of its own CA, valid for 127.0.0.1.
on_host "set -e
  apt-get install -y -q pebble openssl curl >/dev/null 2>&1
  mkdir -p /etc/pebble && cd /etc/pebble
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=pebble listener CA' \
    -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' -keyout key.pem -out csr.pem 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > san.ext
  openssl x509 -req -in csr.pem -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
    -extfile san.ext -out cert.pem 2>/dev/null
  cat > config.json <<'JSON'
{\"pebble\": {\"listenAddress\": \"127.0.0.1:14000\", \"managementListenAddress\": \"127.0.0.1:15000\",
  \"certificate\": \"/etc/pebble/cert.pem\", \"privateKey\": \"/etc/pebble/key.pem\",
  \"httpPort\": 80, \"tlsPort\": 5001, \"ocspResponderURL\": \"\", \"externalAccountBindingRequired\": false}}
JSON
  systemd-run -q --unit=pebble -E PEBBLE_VA_NOSLEEP=1 -E PEBBLE_WFE_NONCEREJECT=0 \
    /usr/bin/pebble -config /etc/pebble/config.json
  echo '127.0.0.1 $domain' >> /etc/hosts
  for i in \$(seq 50); do curl -sf --cacert ca.pem https://127.0.0.1:14000/dir >/dev/null && exit 0; sleep 0.2; done
  echo 'pebble does not answer'; journalctl -u pebble --no-pager | tail; exit 1" ||
  fail "could not start pebble in the sandbox host"

mkdir -p app templates/nginx
cat >app/server.js <<'JS'
const http = require("http");
http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(req.url === "/healthz" ? "ok\n" : "app\n");
}).listen(Number(process.env.PORT), "127.0.0.1");
JS
echo 'REQUESTS_CA_BUNDLE=/etc/pebble/ca.pem' >templates/nginx/certbot.env.mustache
cat >berth.toml <<TOML
[app]
name = "pxacme"

[app.build]
dir = "app"

[app.run]
runtime = "node"
command = "node server.js"
port = 4000

[proxy]
domains = ["$domain"]
tls = "letsencrypt"
acme_email = "ops@berth.test"
acme_directory = "https://127.0.0.1:14000/dir"
TOML
write_server_stanza e2e-px-acme 1 web berth.toml

"$BERTH" -q setup >setup.out 2>&1 || fail "setup failed: $(cat setup.out)"
link=$(on_host 'readlink /etc/berth/tls/pxacme.crt' || true)
echo "/etc/berth/tls/pxacme.crt -> $link"
[ "$link" = /etc/letsencrypt/live/pxacme/fullchain.pem ] || fail "nginx was not switched to certbot's certificate"
on_host 'nginx -t -q' || fail "nginx -t fails after the switch"
on_host 'systemctl is-enabled -q certbot.timer' || fail "certbot.timer (renewals) is not enabled"

# pebble's root signs the chain nginx serves; this machine verifies with it only.
on_host 'curl -sf --cacert /etc/pebble/ca.pem https://127.0.0.1:15000/roots/0' >pebble-root.pem ||
  fail "could not fetch pebble's root"
# The https check the deploy gate and `berth health` run, verified with pebble's root
# only. (No [CERTIFICATE_EXPIRATION]: the gate also checks the new instances directly,
# over plain http.)
cat >>berth.toml <<'TOML'

[[health]]
name = "tls"
url = "/healthz"
ca_file = "pebble-root.pem"
conditions = ["[STATUS] == 200"]
TOML
serial() {
  echo | openssl s_client -connect "$SANDBOX_ADDRESS:443" -servername "$domain" 2>/dev/null |
    openssl x509 -noout -serial -issuer
}
first=$(serial)
echo "served: $first"
echo "$first" | grep -qi 'issuer=.*Pebble' || fail "nginx does not serve pebble's certificate"
body=$(curl -sS --max-time 5 --cacert pebble-root.pem --resolve "$domain:443:$SANDBOX_ADDRESS" "https://$domain/") ||
  fail "curl does not verify the served certificate with pebble's root"
echo "https://$domain/ (verified with pebble's root, before any deploy) -> $(echo "$body" | grep -o "<title>.*</title>")"
curl -s -o /dev/null --max-time 5 --resolve "$domain:443:$SANDBOX_ADDRESS" "https://$domain/" &&
  fail "the certificate verifies without pebble's root"

"$BERTH" -q deploy >deploy.out 2>&1 || fail "deploy (gated by the https check) failed: $(cat deploy.out)"
"$BERTH" health >health.out 2>&1 || fail "berth health failed: $(cat health.out)"
cat health.out

# A second setup issues nothing new: the guard holds.
"$BERTH" -q setup >/dev/null 2>&1 || fail "second setup failed"
[ "$(serial)" = "$first" ] || fail "a second setup changed the certificate"

# A renewal (forced: certbot.timer would wait for 30 days before expiry) runs the
# deploy hook, which reloads nginx: the served certificate changes. Without a tty
# `certbot renew` first sleeps for a random time of up to 8 minutes (good for the
# timer, not for a test): --no-random-sleep-on-renew.
on_host 'systemctl show -P EnvironmentFiles certbot.service' | grep -q /etc/berth/tls/pxacme.certbot.env ||
  fail "certbot.service does not get the certbot environment"
on_host 'set -a; . /etc/berth/tls/pxacme.certbot.env; certbot renew -q --no-random-sleep-on-renew --force-renewal --cert-name pxacme' ||
  fail "the forced renewal failed"
on_host 'grep -q "hook command: /etc/letsencrypt/renewal-hooks/deploy/berth-pxacme.sh" /var/log/letsencrypt/letsencrypt.log' ||
  fail "certbot did not run berth's deploy hook"
# nginx's old workers finish their connections after the reload: ask until a new one answers.
for _ in $(seq 50); do
  second=$(serial)
  [ -n "$second" ] && [ "$second" != "$first" ] && break
  sleep 0.2
done
echo "after renewal: $second"
[ -n "$second" ] && [ "$second" != "$first" ] || fail "nginx still serves the old certificate after the renewal"
"$BERTH" health >/dev/null 2>&1 || fail "berth health fails after the renewal"

# Back to self-signed: the links into /etc/letsencrypt are replaced (never written
# through), certbot's deploy hook goes so a renewal cannot link them again, and nginx
# serves a self-signed certificate.
sed -i 's/^tls = "letsencrypt"$/tls = "self-signed"/' berth.toml
"$BERTH" -q setup >setup3.out 2>&1 || fail "setup back to self-signed failed: $(cat setup3.out)"
on_host 'test -f /etc/berth/tls/pxacme.crt && test ! -L /etc/berth/tls/pxacme.crt && test ! -L /etc/berth/tls/pxacme.key' ||
  fail "the certificate paths are still links after switching to self-signed"
on_host 'test ! -e /etc/letsencrypt/renewal-hooks/deploy/berth-pxacme.sh' || fail "certbot's deploy hook is still there"
on_host 'openssl x509 -noout -issuer -in /etc/letsencrypt/live/pxacme/fullchain.pem' | grep -qi pebble ||
  fail "certbot's certificate was overwritten"
for _ in $(seq 50); do
  third=$(serial)
  [ -n "$third" ] && ! echo "$third" | grep -qi pebble && break
  sleep 0.2
done
echo "self-signed again: $third"
! echo "$third" | grep -qi pebble || fail "nginx still serves pebble's certificate"
"$BERTH" plan --detailed-exitcode >/dev/null 2>&1 || fail "a plan after switching to self-signed is not clean"
echo "PASS"
