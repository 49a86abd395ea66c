#include <provisioners/provisioner.hpp>
#include <tests/unit/desired.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace berth;
using namespace berth::converge;
using berth::test::has;
using berth::test::find;

namespace {

manifest::Manifest proxy_sample(manifest::Tls tls) {
  manifest::Manifest m;
  m.app.name = "shop";
  m.app.run.command = "node server.js";
  m.servers = {{.name = "web", .address = "198.18.0.2"}};
  manifest::Proxy proxy;
  proxy.domains = {"shop.test", "www.shop.test"};
  proxy.tls = tls;
  proxy.acme_email = "ops@shop.test";
  proxy.acme_directory = "https://127.0.0.1:14000/dir";
  proxy.rate_limit = manifest::RateLimit{.requests_per_second = 5, .burst = 10};
  m.proxy = proxy;
  return m;
}

// The proxy's resources; ${secret:NAME} and ${env:NAME} read `env`.
provisioners::Desired proxy_of(const manifest::Manifest& m, std::map<std::string, std::string> env = {}) {
  provisioners::Desired d;
  manifest::SecretSources secrets(m, [env](const std::string& name) -> std::optional<std::string> {
    const auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  provisioners::add_proxy(m, m.servers[0], secrets, d);
  return d;
}

const Command* find_command(const provisioners::Desired& d, std::string_view needle) {
  for (const auto& r : d.resources) {
    const auto* c = std::get_if<Command>(&r.spec);
    if (c && c->run.find(needle) != std::string::npos) return c;
  }
  return nullptr;
}

std::size_t index_of(const provisioners::Desired& d, std::string_view id) {
  for (std::size_t i = 0; i < d.resources.size(); ++i) {
    if (d.resources[i].id() == id) return i;
  }
  return d.resources.size();
}

}  // namespace

TEST_CASE("proxy: letsencrypt issues through certbot's webroot after a bootstrap certificate") {
  const auto m = proxy_sample(manifest::Tls::letsencrypt);
  const auto d = proxy_of(m);

  CHECK(find(d, "package:certbot"));
  CHECK(find(d, "directory:/var/www/letsencrypt"));

  SECTION("nginx starts on a self-signed certificate at the paths the site names") {
    const auto* bootstrap = find_command(d, "openssl req -x509");
    REQUIRE(bootstrap);
    CHECK(bootstrap->creates == "/etc/berth/tls/shop.crt");
    CHECK(has(bootstrap->run, "DNS:shop.test,DNS:www.shop.test"));
    const auto& site = std::get<File>(find(d, "file:/etc/nginx/sites-enabled/shop.conf")->spec);
    CHECK(has(site.content, "ssl_certificate /etc/berth/tls/shop.crt;"));
    CHECK(
        has(site.content, "location /.well-known/acme-challenge/ { root /var/www/letsencrypt; }"));
  }

  SECTION("certbot runs once per set of domains and server, after nginx serves port 80") {
    const Resource* issue = nullptr;
    for (const auto& r : d.resources) {
      const auto* c = std::get_if<Command>(&r.spec);
      if (c && has(c->run, "certbot certonly")) issue = &r;
    }
    REQUIRE(issue);
    const auto& c = std::get<Command>(issue->spec);
    CHECK(issue->stage == Stage::data);
    CHECK(issue->notify == std::vector<std::string>{"reload:nginx.service"});
    CHECK(has(c.run, "--webroot -w /var/www/letsencrypt"));
    CHECK(has(c.run, "--server 'https://127.0.0.1:14000/dir'"));
    CHECK(has(c.run, "-d 'shop.test' -d 'www.shop.test'"));
    CHECK(has(c.run, "--email 'ops@shop.test'"));
    CHECK(has(c.run, "--cert-name 'shop'"));
    CHECK(has(c.run, ". '/etc/berth/tls/shop.certbot.env'"));
    // The switch is checked by nginx -t and undone when it fails.
    CHECK(has(c.run, "ln -sfn /etc/letsencrypt/live/shop/fullchain.pem /etc/berth/tls/shop.crt"));
    CHECK(has(c.run, "if ! nginx -t"));
    CHECK(has(c.run, "mv -fT /etc/berth/tls/shop.crt.bootstrap /etc/berth/tls/shop.crt"));
    CHECK(has(c.unless, "[ -L /etc/berth/tls/shop.crt ]"));
    CHECK(has(c.unless, "'https://127.0.0.1:14000/dir shop.test www.shop.test'"));
  }

  SECTION("without acme_directory certbot uses Let's Encrypt and the guard says so") {
    auto production = proxy_sample(manifest::Tls::letsencrypt);
    production.proxy->acme_directory.clear();
    const auto desired = proxy_of(production);  // find_command points into it
    const auto* c = find_command(desired, "certbot certonly");
    REQUIRE(c);
    CHECK_FALSE(has(c->run, "--server"));
    CHECK(has(c->unless, "'letsencrypt shop.test www.shop.test'"));
  }

  SECTION("renewals reload nginx and see the same environment") {
    const auto* hook = find(d, "file:/etc/letsencrypt/renewal-hooks/deploy/berth-shop.sh");
    REQUIRE(hook);
    const auto& h = std::get<File>(hook->spec);
    CHECK(h.mode == "0755");
    CHECK(has(h.content, "[ \"${RENEWED_LINEAGE:-}\" = /etc/letsencrypt/live/shop ] || exit 0"));
    CHECK(has(h.content, "nginx -t -q && systemctl reload nginx.service"));
    const auto* dropin = find(d, "file:/etc/systemd/system/certbot.service.d/berth-shop.conf");
    REQUIRE(dropin);
    CHECK(has(std::get<File>(dropin->spec).content,
              "EnvironmentFile=-/etc/berth/tls/shop.certbot.env"));
    CHECK(dropin->notify == std::vector<std::string>{"daemon-reload"});
    CHECK(std::get<File>(find(d, "file:/etc/berth/tls/shop.certbot.env")->spec).mode == "0600");
  }
}

TEST_CASE("proxy: self-signed and off never run certbot") {
  for (const auto tls : {manifest::Tls::self_signed, manifest::Tls::off}) {
    const auto d = proxy_of(proxy_sample(tls));
    CHECK_FALSE(find(d, "package:certbot"));
    CHECK_FALSE(find_command(d, "certbot"));
    CHECK(static_cast<bool>(find_command(d, "openssl req -x509")) ==
          (tls == manifest::Tls::self_signed));
  }
}

TEST_CASE("proxy: self-signed after Let's Encrypt replaces the links instead of writing through them") {
  const auto d = proxy_of(proxy_sample(manifest::Tls::self_signed));
  const auto* make = find_command(d, "openssl req -x509");
  REQUIRE(make);
  CHECK(make->creates.empty());
  CHECK(make->unless == "[ -f /etc/berth/tls/shop.crt ] && [ ! -L /etc/berth/tls/shop.crt ]");
  // The links go before openssl writes, and certbot's deploy hook with them.
  const auto rm = make->run.find("rm -f /etc/berth/tls/shop.crt /etc/berth/tls/shop.key");
  REQUIRE(rm != std::string::npos);
  CHECK(rm < make->run.find("openssl req"));
  CHECK(has(make->run, "/etc/letsencrypt/renewal-hooks/deploy/berth-shop.sh"));
}

TEST_CASE("proxy: a fail2ban jail bans floods of 4xx from the app's access log") {
  const auto d = proxy_of(proxy_sample(manifest::Tls::self_signed));
  const auto* filter = find(d, "file:/etc/fail2ban/filter.d/berth-shop-nginx.conf");
  const auto* jail = find(d, "file:/etc/fail2ban/jail.d/berth-shop-nginx.conf");
  REQUIRE(filter);
  REQUIRE(jail);
  const auto& j = std::get<File>(jail->spec).content;
  CHECK(has(j, "[berth-shop-nginx]\nenabled = true\n"));
  CHECK(has(j, "filter = berth-shop-nginx\n"));
  CHECK(has(j, "logpath = /var/log/nginx/shop.access.log\n"));
  CHECK(has(j, "maxretry = 120\nfindtime = 60s\nbantime = 10m\n"));
  CHECK(has(std::get<File>(filter->spec).content,
            "failregex = ^<HOST> - \\S+ \\[[^\\]]*\\] \"[^\"]*\" 4\\d\\d \\d+\n"));

  SECTION("the files are checked by fail2ban when it is there and reload it") {
    for (const auto* r : {filter, jail}) {
      CHECK(std::get<File>(r->spec).validate ==
            "! command -v fail2ban-client >/dev/null || fail2ban-client -t");
      CHECK(r->notify == std::vector<std::string>{"reload:fail2ban.service"});
    }
    CHECK(index_of(d, "file:/etc/fail2ban/filter.d/berth-shop-nginx.conf") <
          index_of(d, "file:/etc/fail2ban/jail.d/berth-shop-nginx.conf"));
  }

  SECTION("the log exists before fail2ban reads it, and base owns the package") {
    const auto* log = find_command(d, "touch /var/log/nginx/shop.access.log");
    REQUIRE(log);
    CHECK(log->creates == "/var/log/nginx/shop.access.log");
    CHECK_FALSE(find(d, "package:fail2ban"));
  }
}

TEST_CASE("proxy: header values are nginx strings, whatever they hold") {
  auto m = proxy_sample(manifest::Tls::self_signed);
  m.proxy->headers = {{"X-Probe", "v\" always; add_header X-Evil \"1"},
                      {"X-Path", "C:\\temp"},
                      {"X-Price", "$5 ${env:PRICE}"}};
  const auto d = proxy_of(m, {{"PRICE", "$6"}});
  const auto* file = find(d, "file:/etc/berth/shop/headers.conf");
  REQUIRE(file);
  const auto& f = std::get<File>(file->spec);
  CHECK(has(f.content, "add_header X-Probe \"v\\\" always; add_header X-Evil \\\"1\" always;\n"));
  CHECK(has(f.content, "add_header X-Path \"C:\\\\temp\" always;\n"));
  CHECK(has(f.content, "add_header X-Price \"${shop_dollar}5 ${shop_dollar}6\" always;\n"));
  CHECK(f.mode == "0644");
  CHECK(f.sensitive == Sensitive::no);
  // The site includes the file (before its own nginx -t) and defines the $ variable.
  const auto& site = std::get<File>(find(d, "file:/etc/nginx/sites-enabled/shop.conf")->spec).content;
  CHECK(has(site, "include /etc/berth/shop/headers.conf;"));
  CHECK(has(site, "geo $shop_dollar {"));
  CHECK(index_of(d, "file:/etc/berth/shop/headers.conf") < index_of(d, "file:/etc/nginx/sites-enabled/shop.conf"));

  SECTION("a value from a secret: root-only, hidden from plans") {
    m.proxy->headers = {{"X-Token", "Bearer ${secret:API_TOKEN}"}};
    const auto secret = proxy_of(m, {{"API_TOKEN", "s3cr3t"}});
    const auto& h = std::get<File>(find(secret, "file:/etc/berth/shop/headers.conf")->spec);
    CHECK(has(h.content, "add_header X-Token \"Bearer s3cr3t\" always;"));
    CHECK(h.mode == "0600");
    CHECK(h.sensitive == Sensitive::yes);
    CHECK_FALSE(has(std::get<File>(find(secret, "file:/etc/nginx/sites-enabled/shop.conf")->spec).content, "geo "));
  }
  SECTION("a line break from a reference stops setup at the header") {
    m.proxy->headers = {{"X-Token", "${env:TWO_LINES}"}};
    CHECK_THROWS_WITH(proxy_of(m, {{"TWO_LINES", "a\r\nX-Evil: 1"}}),
                      Catch::Contains("header X-Token: its value holds a line break"));
  }
  SECTION("no headers, no file") {
    m.proxy->headers.clear();
    CHECK_FALSE(find(proxy_of(m), "file:/etc/berth/shop/headers.conf"));
  }
}

TEST_CASE("proxy: bot user agents match themselves inside the nginx regex string") {
  auto m = proxy_sample(manifest::Tls::self_signed);
  m.proxy->bot_user_agents = {"evil\"bot", "a\\b", "x$"};
  const auto d = proxy_of(m);
  const auto& site = std::get<File>(find(d, "file:/etc/nginx/sites-enabled/shop.conf")->spec).content;
  // regex-escaped, then nginx-quoted: nginx reads \\ as \ and \" as ".
  CHECK(has(site, "|evil\\\"bot|a\\\\\\\\b|x\\\\$)\" 1;"));
}

namespace {

const std::string& site_of(const provisioners::Desired& d) {
  return std::get<File>(find(d, "file:/etc/nginx/sites-enabled/shop.conf")->spec).content;
}

}  // namespace

TEST_CASE("proxy: WebSockets upgrade and responses stream in every location") {
  auto m = proxy_sample(manifest::Tls::self_signed);
  m.proxy->limits = {{.path = "/api/login", .requests_per_minute = 10}};
  const auto d = proxy_of(m);
  const auto& site = site_of(d);
  CHECK(has(site, "map $http_upgrade $shop_connection {\n    default upgrade;\n    \"\" \"\";\n}"));
  CHECK(has(site, "proxy_set_header Upgrade $http_upgrade;"));
  CHECK(has(site, "proxy_set_header Connection $shop_connection;"));
  CHECK(has(site, "proxy_buffering off;"));
  CHECK(has(site, "proxy_read_timeout 3600s;"));
  CHECK_FALSE(has(site, "Connection \"\""));
  // Set once at server level, so that each location inherits them: none sets its own.
  const auto location = site.find("location ^~ /api/login {");
  REQUIRE(location != std::string::npos);
  CHECK_FALSE(has(site.substr(location), "proxy_set_header"));
}

TEST_CASE("proxy: trusted proxies set the client's address from their header") {
  auto m = proxy_sample(manifest::Tls::self_signed);
  SECTION("cloudflare alone: its ranges and CF-Connecting-IP") {
    m.proxy->trusted_proxies = {"cloudflare"};
    const auto d = proxy_of(m);
    const auto* file = find(d, "file:/etc/nginx/berth/shop/real-ip.conf");
    REQUIRE(file);
    const auto& conf = std::get<File>(file->spec).content;
    CHECK(has(conf, "set_real_ip_from 173.245.48.0/20;\n"));
    CHECK(has(conf, "set_real_ip_from 2606:4700::/32;\n"));
    CHECK(has(conf, "real_ip_header CF-Connecting-IP;\nreal_ip_recursive on;\n"));
    CHECK_FALSE(has(conf, "checked 20"));
    // Both servers (the redirect too) read it, before the rate limit acts.
    const auto& site = site_of(d);
    const auto first = site.find("include /etc/nginx/berth/shop/real-ip.conf;");
    REQUIRE(first != std::string::npos);
    CHECK(site.find("include /etc/nginx/berth/shop/real-ip.conf;", first + 1) != std::string::npos);
  }
  SECTION("CIDRs: X-Forwarded-For, or the header named") {
    m.proxy->trusted_proxies = {"10.0.0.0/8", "2001:db8::1"};
    auto conf = std::get<File>(find(proxy_of(m), "file:/etc/nginx/berth/shop/real-ip.conf")->spec).content;
    CHECK(conf == "# Managed by berth: [proxy] trusted_proxies.\nset_real_ip_from 10.0.0.0/8;\n"
                  "set_real_ip_from 2001:db8::1;\nreal_ip_header X-Forwarded-For;\nreal_ip_recursive on;\n");
    m.proxy->real_ip_header = "X-Real-IP";
    conf = std::get<File>(find(proxy_of(m), "file:/etc/nginx/berth/shop/real-ip.conf")->spec).content;
    CHECK(has(conf, "real_ip_header X-Real-IP;"));
  }
  SECTION("none: no file, no include") {
    const auto d = proxy_of(m);
    CHECK_FALSE(find(d, "file:/etc/nginx/berth/shop/real-ip.conf"));
    CHECK_FALSE(has(site_of(d), "real-ip.conf"));
  }
}

TEST_CASE("proxy: access rules: addresses and basic-auth users, for the site or a path") {
  auto m = proxy_sample(manifest::Tls::self_signed);
  m.proxy->access = {{.path = "/", .users = {{"alice", "${secret:ALICE_PW}"}}},
                     {.path = "/admin", .allow = {"203.0.113.0/24", "2001:db8::/32"}}};
  const auto d = proxy_of(m, {{"ALICE_PW", "correct horse"}});
  const auto* users = find(d, "file:/etc/nginx/berth/shop/users-site.htpasswd");
  REQUIRE(users);
  const auto& f = std::get<File>(users->spec);
  // Hashed here: the password itself never reaches the server.
  CHECK(f.content.starts_with("alice:$6$"));
  CHECK_FALSE(has(f.content, "correct horse"));
  CHECK(f.mode == "0640");
  CHECK(f.group == "www-data");
  CHECK(f.sensitive == Sensitive::yes);
  // The same password gives the same file (a no-op re-run stays one), another does not.
  CHECK(std::get<File>(find(proxy_of(m, {{"ALICE_PW", "correct horse"}}), "file:/etc/nginx/berth/shop/users-site.htpasswd")->spec).content == f.content);
  CHECK(std::get<File>(find(proxy_of(m, {{"ALICE_PW", "battery"}}), "file:/etc/nginx/berth/shop/users-site.htpasswd")->spec).content != f.content);

  const auto& site = site_of(d);
  const auto server_level = site.find("    auth_basic $shop_realm;\n    auth_basic_user_file /etc/nginx/berth/shop/users-site.htpasswd;\n");
  const auto admin = site.find("location ^~ /admin {");
  REQUIRE(server_level != std::string::npos);
  REQUIRE(admin != std::string::npos);
  CHECK(server_level < site.find("    location / {\n        proxy_pass"));
  // The allowlist is a geo of its own; berth's checks (the token) pass it.
  CHECK(has(site, "geo $shop_allowed_2 {\n    default 0;\n    203.0.113.0/24 1;\n    2001:db8::/32 1;\n}"));
  CHECK(has(site, "map \"$shop_allowed_2$shop_berth_check\" $shop_refused_2 {\n    default 0;\n    \"00\" 1;\n}"));
  CHECK(has(site.substr(admin), "        if ($shop_refused_2) { return 403; }\n"));
  CHECK_FALSE(has(site, "deny all"));
  CHECK(has(site.substr(admin), "        proxy_pass http://shop_app;\n"));
  // berth's own checks pass basic auth: the realm is off for them.
  CHECK(has(site, "include /etc/nginx/berth/shop/check.conf;"));
  CHECK(has(site, "map $shop_berth_check $shop_realm {\n    default \"shop\";\n    1 off;\n}"));
  // nginx does not pass the token on to the app.
  CHECK(has(site, "proxy_set_header X-Berth-Check \"\";"));
}

TEST_CASE("proxy: a path's limit applies on top of the site's") {
  auto m = proxy_sample(manifest::Tls::self_signed);
  m.proxy->limits = {{.path = "/api/login", .requests_per_minute = 10, .burst = -1},
                     {.path = "/api/signup", .requests_per_minute = 5, .burst = 0}};
  const auto d = proxy_of(m);
  const auto& site = site_of(d);
  CHECK(has(site, "limit_req_zone $binary_remote_addr zone=shop_path1:10m rate=10r/m;"));
  CHECK(has(site, "limit_req_zone $binary_remote_addr zone=shop_path2:10m rate=5r/m;"));
  const auto login = site.substr(site.find("location ^~ /api/login {"));
  CHECK(has(login, "        limit_req zone=shop_req burst=10 nodelay;\n        limit_req zone=shop_path1 burst=10 nodelay;\n"));
  CHECK(has(site, "limit_req zone=shop_path2 burst=0 nodelay;"));
}

TEST_CASE("proxy: your own certificate: one root-only file, checked before nginx loads it") {
  auto m = proxy_sample(manifest::Tls::own);
  m.proxy->domains = {"*.shop.test"};
  m.proxy->certificate = manifest::OwnCertificate{.cert = "${secret:CERT}", .key = "${secret:KEY}"};
  const auto d = proxy_of(m, {{"CERT", "-----BEGIN CERTIFICATE-----\nc\n-----END CERTIFICATE-----"},
                              {"KEY", "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n"}});
  const auto* pem = find(d, "file:/etc/berth/tls/shop.pem");
  REQUIRE(pem);
  const auto& f = std::get<File>(pem->spec);
  CHECK(f.content == "-----BEGIN CERTIFICATE-----\nc\n-----END CERTIFICATE-----\n"
                     "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n");
  CHECK(f.mode == "0600");
  CHECK(f.sensitive == Sensitive::yes);
  CHECK(has(f.validate, "-checkhost 'berth-check.shop.test'"));
  CHECK(has(f.validate, "nginx -t"));
  const auto& site = site_of(d);
  CHECK(has(site, "ssl_certificate /etc/berth/tls/shop.pem;\n    ssl_certificate_key /etc/berth/tls/shop.pem;"));
  CHECK_FALSE(find_command(d, "openssl req"));
  CHECK_FALSE(find_command(d, "certbot"));
}

TEST_CASE("proxy: HTTP/2 the way each release's nginx spells it") {
  auto m = proxy_sample(manifest::Tls::self_signed);
  m.proxy->domains.clear();  // the host's default site
  CHECK(has(site_of(proxy_of(m)), "listen 443 ssl default_server;"));
  m.proxy->http2 = true;
  CHECK(has(site_of(proxy_of(m)), "listen 443 ssl http2 default_server;"));
  provisioners::Desired d;
  d.release = *debian::find(13);
  manifest::SecretSources secrets(m, [](const std::string&) { return std::nullopt; });
  provisioners::add_proxy(m, m.servers[0], secrets, d);
  CHECK(has(site_of(d), "listen 443 ssl default_server;\n    http2 on;"));
  // With domains, the site answers for them alone: another app may be the default one.
  m.proxy->http2 = false;
  m.proxy->domains = {"shop.example"};
  CHECK(has(site_of(proxy_of(m)), "listen 443 ssl;"));
  CHECK_FALSE(has(site_of(proxy_of(m)), "default_server"));
}

TEST_CASE("proxy: the site serves the maintenance page when berth maintenance put its file") {
  const auto d = proxy_of(proxy_sample(manifest::Tls::self_signed));
  const auto& site = site_of(d);
  CHECK(has(site, "include /etc/nginx/berth/shop/maintenance/*.conf;"));
  CHECK(has(site, "error_page 503 @shop_maintenance;"));
  CHECK(has(site, "add_header Retry-After 300 always;"));
  CHECK(find(d, "directory:/etc/nginx/berth/shop/maintenance"));
}

TEST_CASE("proxy: a proxy server balances over the app servers on other hosts, each in a file of its own") {
  auto m = proxy_sample(manifest::Tls::self_signed);
  m.app.run.port = 3000;
  m.app.run.instances = 2;
  m.servers = {{.name = "app1", .address = "198.18.0.11", .roles = {"app"}},
               {.name = "app2", .address = "203.0.113.12", .roles = {"app"}, .private_address = "fd00::12"},
               {.name = "lb", .address = "198.18.0.10", .roles = {"proxy"}}};
  provisioners::Desired d;
  manifest::SecretSources secrets(m, [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
  provisioners::add_proxy(m, m.servers[2], secrets, d);
  const auto* site = find(d, "file:/etc/nginx/sites-enabled/shop.conf");
  REQUIRE(site);
  const auto& conf = std::get<File>(site->spec).content;
  CHECK(has(conf, "include /etc/berth/shop/upstream.d/*.conf;"));
  CHECK_FALSE(has(conf, "include /etc/berth/shop/upstream.conf;"));
  CHECK(has(conf, "proxy_connect_timeout 3s;"));
  // Blue until a deploy writes it, green as backup; made once, then the deploys' own.
  const auto* app1 = find(d, "file:/etc/berth/shop/upstream.d/app1.conf");
  REQUIRE(app1);
  const auto& f1 = std::get<File>(app1->spec);
  CHECK(f1.overwrite == Overwrite::no);
  CHECK(has(f1.content, "server 198.18.0.11:3000 max_fails=1 fail_timeout=2s;\n"));
  CHECK(has(f1.content, "server 198.18.0.11:3001 max_fails=1 fail_timeout=2s;\n"));
  CHECK(has(f1.content, "server 198.18.0.11:3002 max_fails=1 fail_timeout=2s backup;\n"));
  CHECK(index_of(d, "file:/etc/berth/shop/upstream.d/app1.conf") < index_of(d, "file:/etc/nginx/sites-enabled/shop.conf"));
  // The internal address: private_address, in brackets for IPv6; a new one replaces the old.
  const auto* app2 = find(d, "file:/etc/berth/shop/upstream.d/app2.conf");
  REQUIRE(app2);
  CHECK(has(std::get<File>(app2->spec).content, "server [fd00::12]:3000 "));
  const auto* moved = find_command(d, "server [fd00::12]:\\1 ");
  REQUIRE(moved);
  CHECK(has(moved->unless, "grep -qF 'server [fd00::12]:'"));
  // The files of servers that are app servers no longer go.
  const auto* stale = find_command(d, "xargs -r rm -f --");
  REQUIRE(stale);
  CHECK(has(stale->unless, "-e 'app1.conf' -e 'app2.conf'"));
  // No file of this host's own instances: it runs none.
  CHECK_FALSE(find(d, "file:/etc/berth/shop/upstream.conf"));
}

TEST_CASE("proxy: one server with every role keeps its site as before: its own instances only") {
  const auto m = proxy_sample(manifest::Tls::self_signed);
  const auto d = proxy_of(m);
  const auto& conf = std::get<File>(find(d, "file:/etc/nginx/sites-enabled/shop.conf")->spec).content;
  CHECK(has(conf, "include /etc/berth/shop/upstream.conf;"));
  CHECK_FALSE(has(conf, "upstream.d"));
  CHECK_FALSE(has(conf, "proxy_connect_timeout"));
  CHECK(find(d, "file:/etc/berth/shop/upstream.conf"));
}
