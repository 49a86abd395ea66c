# Several apps on one server (issue 27): app "shop" (node + PostgreSQL, the default
# site) and app "blog" (python + Redis, domain blog.test, a job every minute) share one
# sandbox host. blog's setup and deploy leave shop serving without a failed request
# and its plan at 0 changes; each answers on its own site; a deploy of shop leaves
# blog's instances alone; a manifest that disagrees on a host setting or takes shop's
# ports is refused before anything changes, naming both manifests; `berth destroy`
# removes blog while shop serves, keeps its data until --purge-data.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
. "$BERTH_SOURCE_DIR/tests/e2e/deploy_lib.sh"
skip_unless_root_nspawn

sandbox_up e2e-apps 1 >/dev/null
work=$SANDBOX_DIR/test # removed with the sandbox
outputs=$work/out
mkdir -p "$work/shop/app" "$work/blog/app" "$outputs"
trap 'status=$?; load_stop >/dev/null 2>&1; cd /; _berth_test_cleanup $status' EXIT

# shop: node + PostgreSQL; / answers its version, /healthz counts a table through psql.
cd "$work/shop"
cat >berth.toml <<'TOML'
[app]
name = "shop"

[app.build]
dir = "app"

[app.run]
runtime = "node"
command = "node server.js"
port = 3000
migrate = "psql \"$DATABASE_URL\" -qc 'CREATE TABLE IF NOT EXISTS orders (id serial PRIMARY KEY)'"

[databases.main]
engine = "postgresql"

[proxy]
tls = "self-signed"

[[health]]
name = "health"
url = "/healthz"
conditions = ["[STATUS] == 200", "[BODY].orders == 0"]
TOML
write_server_stanza e2e-apps 1 web berth.toml
cat >app/server.js <<'JS'
const http = require("http");
const fs = require("fs");
const { execFileSync } = require("child_process");
const version = fs.readFileSync("version.txt", "utf8").trim();
const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    let orders = -1;
    try {
      orders = Number(execFileSync("psql", [process.env.DATABASE_URL, "-tAc", "SELECT count(*) FROM orders"]).toString());
    } catch (e) {}
    res.writeHead(orders >= 0 ? 200 : 500, { "content-type": "application/json" });
    res.end(JSON.stringify({ orders }));
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(`shop ${version}\n`);
});
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
JS
echo v1 >app/version.txt

# blog: python + Redis, its own domain, a job every minute.
cd "$work/blog"
cat >berth.toml <<'TOML'
[app]
name = "blog"

[app.build]
dir = "app"

[app.run]
runtime = "python"
command = "python app.py"
port = 3100
migrate = "python redis.py SET blog:created yes"

[databases.cache]
engine = "redis"

[proxy]
tls = "self-signed"
domains = ["blog.test"]

[[jobs]]
name = "tick"
schedule = "* * * * *"
command = "sh -c 'date >> /srv/blog/shared/ticks'"
run_on = "one"

[[health]]
name = "health"
url = "/healthz"
conditions = ["[STATUS] == 200", "[BODY].redis == PONG"]
TOML
write_server_stanza e2e-apps 1 web berth.toml
cat >app/requirements.txt <<'REQ'
# nothing: the test host cannot reach PyPI
REQ
# redis-cli -u sends AUTH "" PASSWORD for redis://:PASSWORD@...: the password goes alone.
cat >app/redis.py <<'PY'
import os, subprocess, sys, urllib.parse

def redis(*args):
    url = urllib.parse.urlparse(os.environ["REDIS_URL"])
    env = dict(os.environ, REDISCLI_AUTH=urllib.parse.unquote(url.password or ""))
    out = subprocess.run(["redis-cli", "-h", url.hostname, "-p", str(url.port), *args], env=env,
                         capture_output=True, text=True)
    return out.stdout.strip()

if __name__ == "__main__":
    reply = redis(*sys.argv[1:])
    print(reply)
    sys.exit(0 if reply == "OK" else 1)
PY
cat >app/app.py <<'PY'
import http.server, json, os
from redis import redis

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            body = json.dumps({"redis": redis("PING")}).encode()
        else:
            body = b"blog " + open("version.txt", "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
PY
echo v1 >app/version.txt

blog_site() { curl -sk --max-time 5 --resolve "blog.test:443:$SANDBOX_ADDRESS" https://blog.test/; }
on_host() { sandbox_ssh e2e-apps 1 "$@"; }

echo "== shop: setup and deploy"
cd "$work/shop"
must shop-setup -q setup
must shop-deploy -q deploy
[ "$(site)" = "shop v1" ] || fail "shop does not serve: $(site)"

echo "== blog: setup and deploy next to it, while shop is under load"
cd "$work/blog"
load_start
"$BERTH" --no-color setup >"$work/blog-setup.log" 2>&1 || { load_stop; cat "$work/blog-setup.log"; fail "blog's setup failed"; }
"$BERTH" --no-color deploy >"$work/blog-deploy.log" 2>&1 || { load_stop; cat "$work/blog-deploy.log"; fail "blog's deploy failed"; }
sleep 1
load_stop
[ "$LOAD_FAILED" -eq 0 ] || fail "shop answered $LOAD_FAILED failed requests during blog's setup and deploy"
[ "$(blog_site)" = "blog v1" ] || fail "blog does not answer on blog.test: $(blog_site)"
[ "$(site)" = "shop v1" ] || fail "shop is no longer the default site: $(site)"
[ "$(curl -sk --max-time 5 --resolve "other.test:443:$SANDBOX_ADDRESS" https://other.test/)" = "shop v1" ] ||
  fail "an unknown domain does not reach the default site"

echo "== shop's plan is still 0 changes; health passes for both"
cd "$work/shop"
"$BERTH" --no-color plan --detailed-exitcode >"$work/shop-plan.log" 2>&1 ||
  { cat "$work/shop-plan.log"; fail "shop's plan is not 0 changes after blog's setup"; }
must shop-health -q health
cd "$work/blog"
must blog-health -q health
on_host 'cat /etc/berth/apps.d/blog.claim' | grep -qx 'ports 3100 3101' ||
  fail "blog's claim does not record its ports"

echo "== a deploy of shop does not restart blog"
blog_runs() {
  on_host 'for u in $(systemctl list-units --plain --no-legend --state=active "blog@*.service" | awk "{ print \$1 }"); do
    echo "$u $(systemctl show -p InvocationID --value "$u")"; done'
}
before=$(blog_runs)
cd "$work/shop"
echo v2 >app/version.txt
must shop-deploy2 -q deploy
[ "$(site)" = "shop v2" ] || fail "shop's deploy did not switch: $(site)"
after=$(blog_runs)
[ -n "$before" ] && [ "$before" = "$after" ] || fail "shop's deploy restarted blog ($before -> $after)"

echo "== manifests that do not fit are refused before anything changes, naming both"
claims_before=$(on_host 'sha256sum /etc/berth/apps.d/*.claim /etc/timezone /etc/nftables.conf')
mkdir -p "$work/blog2"
cp -r "$work/blog/app" "$work/blog2/"
sed -e 's/^port = 3100$/port = 3001/' -e 's/^name = "blog"$/name = "blog2"/' -e 's/"blog.test"/"blog2.test"/' \
  "$work/blog/berth.toml" >"$work/blog2/berth.toml"
printf '\n[base]\ntimezone = "Europe/Berlin"\n' >>"$work/blog2/berth.toml"
cd "$work/blog2"
status=0
"$BERTH" --no-color setup >"$work/refused.log" 2>&1 || status=$?
cat "$work/refused.log"
[ "$status" -ne 0 ] || fail "a manifest that disagrees with shop and blog was set up"
grep -qF "app blog2 ($work/blog2/berth.toml) cannot share this server with app shop (set up from $work/shop/berth.toml)" "$work/refused.log" ||
  fail "the refusal does not name both manifests"
grep -q "the host setting timezone is Europe/Berlin here, UTC for shop" "$work/refused.log" || fail "the refusal does not name the setting"
grep -q "the instance ports 3001-3002 (both colors) overlap shop's 3000-3001" "$work/refused.log" || fail "the ports' overlap is not named"
grep -q "ports 3002-3003 are free of every app here: set \[app.run\] port = 3002" "$work/refused.log" || fail "the refusal suggests no free ports"
grep -q "Redis" "$work/refused.log" || fail "two apps' Redis is not refused"
[ "$(on_host 'sha256sum /etc/berth/apps.d/*.claim /etc/timezone /etc/nftables.conf')" = "$claims_before" ] ||
  fail "the refused setup changed the server"
on_host 'id blog2' 2>/dev/null && fail "the refused setup made blog2's user"

echo "== a host setting changes for both apps: refused alone, taken with --change-host-settings"
for app in shop blog; do printf '\n[base]\ntimezone = "Europe/Berlin"\n' >>"$work/$app/berth.toml"; done
cd "$work/blog"
status=0
"$BERTH" --no-color setup >"$work/refused2.log" 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "blog changed a host setting that shop's claim still has"
grep -q "berth setup --change-host-settings" "$work/refused2.log" || { cat "$work/refused2.log"; fail "the refusal does not say how to change it"; }
must blog-take setup --change-host-settings
[ "$(on_host 'cat /etc/timezone')" = Europe/Berlin ] || fail "the time zone did not change"
cd "$work/shop"
"$BERTH" --no-color plan --detailed-exitcode >"$work/shop-plan.log" 2>&1 ||
  { cat "$work/shop-plan.log"; fail "shop's plan is not 0 changes once its manifest says what blog's setup took"; }

echo "== blog's job runs on its schedule"
for _ in $(seq 150); do
  on_host 'test -s /srv/blog/shared/ticks' && break
  sleep 1
done
on_host 'test -s /srv/blog/shared/ticks' || fail "blog's minutely job did not run"

echo "== destroy blog while shop serves: its units, site, ports, users go; its data stays"
cd "$work/blog"
status=0
"$BERTH" --no-color destroy </dev/null >"$work/unconfirmed.log" 2>&1 || status=$?
[ "$status" -eq 64 ] || { cat "$work/unconfirmed.log"; fail "destroy without --yes and no terminal did not refuse (status $status)"; }
on_host 'test -f /etc/nginx/sites-enabled/blog.conf' || fail "the unconfirmed destroy removed something"
load_start
"$BERTH" --no-color destroy --yes >"$work/destroy.log" 2>&1 || { load_stop; cat "$work/destroy.log"; fail "destroy failed"; }
sleep 1
load_stop
cat "$work/destroy.log"
[ "$LOAD_FAILED" -eq 0 ] || fail "shop answered $LOAD_FAILED failed requests while blog was destroyed"
on_host 'systemctl list-units --all --plain --no-legend "blog@*" "blog-*"' | grep . && fail "blog's units are left"
on_host 'ls /etc/systemd/system/ | grep "^blog"' && fail "blog's unit files are left"
on_host 'test -e /etc/nginx/sites-enabled/blog.conf || test -e /etc/berth/firewall.d/blog.nft || test -e /srv/blog' &&
  fail "blog's site, firewall openings or releases are left"
on_host 'ss -ltnH "( sport = :3100 or sport = :3101 )"' | grep . && fail "blog's ports are still in use"
on_host 'id blog' 2>/dev/null && fail "blog's user is left"
[ "$(site)" = "shop v2" ] || fail "shop does not serve after blog's destroy"
blog_site | grep -q blog && fail "blog.test still reaches blog"
redis_get() { on_host 'REDISCLI_AUTH=$(sed -n "s/^requirepass //p" /etc/redis/berth.conf) redis-cli GET blog:created'; }
[ "$(redis_get)" = yes ] || fail "blog's Redis data is gone without --purge-data"
on_host 'test -d /etc/berth/blog/secrets' || fail "blog's secrets (that open its data) are gone without --purge-data"
cd "$work/shop"
"$BERTH" --no-color plan --detailed-exitcode >"$work/shop-plan.log" 2>&1 ||
  { cat "$work/shop-plan.log"; fail "shop's plan is not 0 changes after blog's destroy"; }

echo "== destroy --purge-data: blog's data goes too"
cd "$work/blog"
must purge destroy --purge-data --yes
[ -z "$(redis_get)" ] || fail "blog's Redis data is left after --purge-data"
on_host 'test -e /etc/berth/blog || test -e /etc/berth/apps.d/blog.claim' && fail "blog's secrets or claim are left"
[ "$(site)" = "shop v2" ] || fail "shop does not serve after the purge"
cd "$work/shop"
must shop-health2 -q health
echo "PASS"
