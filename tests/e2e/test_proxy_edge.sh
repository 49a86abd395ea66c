# The proxy's edge features on a real host (issue 23): the client's address from a
# trusted proxy (rate limit and access log act on it; an untrusted peer's header is
# ignored), basic auth (401 without, 200 with the password, which never reaches the
# server), an address allowlist (403 outside it, berth's own checks pass), a per-path limit answering 429 before
# the site-wide one, your own wildcard certificate (served, checked with openssl
# s_client; a wrong key refused before nginx reloads), and maintenance mode (503 with
# Retry-After for visitors, deploy and health still pass, 200 after off).
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn
command -v curl >/dev/null || skip "needs curl"
command -v openssl >/dev/null || skip "needs openssl"
command -v python3 >/dev/null || skip "needs python3 to read the sandbox's state"

minimal_project e2e-px-edge
address=$SANDBOX_ADDRESS
gateway=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gateway"])' "$SANDBOX_DIR/state.json")
on_host() { sandbox_ssh e2e-px-edge 1 "$@"; }

echo "== your own certificate: a wildcard one from a CA made here"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=berth test CA' \
  -keyout ca.key -out ca.pem >/dev/null 2>&1 || fail "cannot make the CA"
openssl req -newkey rsa:2048 -nodes -subj '/CN=*.berth.test' -keyout site.key -out site.csr >/dev/null 2>&1
printf 'subjectAltName=DNS:*.berth.test\n' >san.ext
openssl x509 -req -in site.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile san.ext \
  -out site.pem >/dev/null 2>&1 || fail "cannot sign the site's certificate"
export SITE_CERT SITE_KEY ALICE_PASSWORD='correct horse "battery" $staple'
SITE_CERT=$(cat site.pem ca.pem)
SITE_KEY=$(cat site.key)

sed -i 's/^tls = "self-signed"$/domains = ["app.berth.test"]\ntls = { cert = "${secret:SITE_CERT}", key = "${secret:SITE_KEY}" }\ntrusted_proxies = ["cloudflare", "GATEWAY\/32"]/' berth.toml
sed -i "s|GATEWAY/32|$gateway/32|" berth.toml
sed -i 's|^conditions = \["\[STATUS\] == 200", "\[RESPONSE_TIME\] < 500"\]$|&\nca_file = "ca.pem"|' berth.toml
cat >>berth.toml <<'TOML'

[[proxy.access]]
path = "/staff"
users = { alice = "${secret:ALICE_PASSWORD}" }

[[proxy.access]]
path = "/admin"
allow = ["192.0.2.0/24"]

[[proxy.limits]]
path = "/api/login"
requests_per_minute = 10

[[health]]
name = "admin"
url = "/admin/healthz"
ca_file = "ca.pem"
TOML
"$BERTH" --no-color check || fail "check refuses the manifest"
"$BERTH" -q setup >setup.out 2>&1 || { cat setup.out; fail "setup failed"; }
grep -q 'correct horse' setup.out && fail "setup printed the password"
"$BERTH" -q deploy >/dev/null || fail "deploy failed (its gate checks with ca_file through the own certificate)"

url() { echo "https://app.berth.test$1"; }
get() { curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert ca.pem --resolve "app.berth.test:443:$address" "$@"; }

s_client=$(openssl s_client -connect "$address:443" -servername app.berth.test -CAfile ca.pem </dev/null 2>&1)
echo "$s_client" | grep -q 'subject=CN = \*.berth.test' || { echo "$s_client" | head -20; fail "nginx does not serve the own certificate"; }
echo "$s_client" | grep -q 'Verify return code: 0 (ok)' || fail "the served chain does not verify against the CA"
[ "$(get "$(url /)")" = 200 ] || fail "the site does not answer 200 with the own certificate"
on_host "stat -c '%a %U' /etc/berth/tls/hello.pem" | grep -qx '600 root' || fail "the key's file is not root-only"

echo "== a wrong key is refused before nginx loads it"
SITE_KEY=$(openssl genrsa 2048 2>/dev/null)
status=0
"$BERTH" --no-color setup >wrongkey.out 2>&1 || status=$?
[ $status = 1 ] || { cat wrongkey.out; fail "setup with a key of another certificate should fail (exit $status)"; }
grep -q "tls key: it is not the key of the certificate" wrongkey.out || { cat wrongkey.out; fail "the refusal does not say why"; }
grep -q 'BEGIN' wrongkey.out && fail "the refusal printed the key"
[ "$(get "$(url /)")" = 200 ] || fail "the site stopped answering after a refused certificate"
SITE_KEY=$(cat site.key)

echo "== basic auth: 401 without the password, 200 with it; hashed before it left"
[ "$(get "$(url /staff)")" = 401 ] || fail "/staff answers without credentials"
[ "$(get -u 'alice:wrong' "$(url /staff)")" = 401 ] || fail "/staff takes a wrong password"
[ "$(get -u "alice:$ALICE_PASSWORD" "$(url /staff)")" = 200 ] || fail "/staff refuses the right password"
on_host "cat /etc/nginx/berth/hello/users-1.htpasswd" | grep -q '^alice:\$6\$' || fail "the users file holds no SHA-512 crypt hash"
on_host "grep -rqs 'correct horse' /etc/nginx /etc/berth /var/lib/berth" && fail "the password is on the server"
on_host "stat -c '%a %U %G' /etc/nginx/berth/hello/users-1.htpasswd" | grep -qx '640 root www-data' || fail "the users file is not nginx's only"
[ "$(get "$(url /)")" = 200 ] || fail "basic auth on /staff reached /"

echo "== allowlist: 403 from outside it"
[ "$(get "$(url /admin)")" = 403 ] || fail "/admin answers outside its allowlist"
[ "$(get "$(url /admin/x)")" = 403 ] || fail "/admin/x answers outside its allowlist"
[ "$(get -H 'X-Berth-Check: 0123456789abcdef0123456789abcdef' "$(url /admin)")" = 403 ] ||
  fail "a made-up check token passes the allowlist"
"$BERTH" --no-color health --only admin >admin.out 2>&1 || { cat admin.out; fail "berth's own check does not pass the allowlist"; }

echo "== per-path limit: 429 on /api/login before the site-wide limit"
codes=""
for _ in $(seq 14); do codes="$codes $(get "$(url /api/login)")"; done
echo "codes:$codes"
echo "$codes" | grep -q 429 || fail "no 429 from /api/login's limit"
[ "$(get "$(url /)")" = 200 ] || fail "the site-wide limit answered as well"

echo "== trusted proxy: limits and the access log act on the client's address"
codes=""
for _ in $(seq 14); do codes="$codes $(get -H 'X-Forwarded-For: 203.0.113.7' "$(url /api/login)")"; done
echo "client A:$codes"
echo "$codes" | grep -q 429 || fail "client A was not limited"
[ "$(get -H 'X-Forwarded-For: 203.0.113.8' "$(url /api/login)")" = 200 ] || fail "client B was limited with A: the limit acts on the proxy's address"
on_host "grep -c '^203.0.113.7 ' /var/log/nginx/hello.access.log" | grep -qv '^0$' || fail "the access log does not name the client"

echo "== an untrusted peer's header is ignored"
sed -i 's|^trusted_proxies = .*|trusted_proxies = ["cloudflare"]|' berth.toml
"$BERTH" -q setup >/dev/null || fail "setup with cloudflare alone failed"
on_host "grep -q 'real_ip_header CF-Connecting-IP' /etc/nginx/berth/hello/real-ip.conf" || fail "cloudflare alone should read CF-Connecting-IP"
on_host ": > /var/log/nginx/hello.access.log"
get -H 'CF-Connecting-IP: 203.0.113.9' -H 'X-Forwarded-For: 203.0.113.9' "$(url /)" >/dev/null
sleep 0.5
on_host "cat /var/log/nginx/hello.access.log" >access.log
grep -q "^$gateway " access.log || { cat access.log; fail "the untrusted peer's request is not logged by its own address"; }
grep -q '^203.0.113.9 ' access.log && fail "an untrusted peer chose the logged address"
codes=""
for i in $(seq 14); do codes="$codes $(get -H "CF-Connecting-IP: 198.51.100.$i" "$(url /api/login)")"; done
echo "untrusted peer, a new client each time:$codes"
echo "$codes" | grep -q 429 || fail "an untrusted peer escaped the limit by naming other clients"

echo "== maintenance: 503 with Retry-After for visitors; deploy and health still work"
"$BERTH" --no-color maintenance on --message 'Back at <b>noon</b>' | tee on.out
grep -q 'web: maintenance on' on.out || fail "maintenance on does not say so"
headers=$(curl -sS -D - -o page.html --max-time 5 --cacert ca.pem --resolve "app.berth.test:443:$address" "$(url /)")
echo "$headers" | head -1 | grep -q ' 503' || fail "maintenance does not answer 503"
echo "$headers" | grep -qi '^retry-after: 300' || fail "the 503 has no Retry-After"
grep -q 'Back at &lt;b&gt;noon&lt;/b&gt;' page.html || { cat page.html; fail "the page does not show the message, escaped"; }
[ "$(get -u "alice:$ALICE_PASSWORD" "$(url /staff)")" = 503 ] || fail "maintenance let a visitor reach /staff"
"$BERTH" --no-color health --only home >health.out 2>&1 || { cat health.out; fail "health fails during maintenance"; }
grep -q 'web: maintenance is on' health.out || { cat health.out; fail "health does not say maintenance is on"; }
sed -i 's/^GREETING = .*/GREETING = "second release"/' berth.toml
"$BERTH" -q deploy >deploy.out 2>&1 || { cat deploy.out; fail "deploy fails during maintenance"; }
"$BERTH" --no-color maintenance status | grep -q 'web: maintenance on' || fail "status does not say on"
"$BERTH" -q setup >/dev/null || fail "setup during maintenance failed"
[ "$(get "$(url /)")" = 503 ] || fail "setup turned maintenance off"
"$BERTH" --no-color maintenance off | grep -q 'web: maintenance off' || fail "maintenance off does not say so"
[ "$(curl -sS --max-time 5 --cacert ca.pem --resolve "app.berth.test:443:$address" "$(url /)")" = "second release" ] ||
  fail "after off the site does not serve the release deployed during maintenance"

echo "== a no-op re-run changes nothing"
"$BERTH" --no-color plan --detailed-exitcode >plan.out 2>&1 || { cat plan.out; fail "plan after setup wants changes"; }
echo "PASS"
