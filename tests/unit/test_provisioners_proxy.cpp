#include <provisioners/provisioner.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace berth;
using namespace berth::converge;

namespace {

manifest::Manifest sample(manifest::Tls tls) {
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

const Resource* find(const provisioners::Desired& d, std::string_view id) {
  for (const auto& r : d.resources) {
    if (r.id() == id) return &r;
  }
  return nullptr;
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

bool has(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("proxy: letsencrypt issues through certbot's webroot after a bootstrap certificate") {
  const auto m = sample(manifest::Tls::letsencrypt);
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
    auto production = sample(manifest::Tls::letsencrypt);
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
    const auto d = proxy_of(sample(tls));
    CHECK_FALSE(find(d, "package:certbot"));
    CHECK_FALSE(find_command(d, "certbot"));
    CHECK(static_cast<bool>(find_command(d, "openssl req -x509")) ==
          (tls == manifest::Tls::self_signed));
  }
}

TEST_CASE("proxy: self-signed after Let's Encrypt replaces the links instead of writing through them") {
  const auto d = proxy_of(sample(manifest::Tls::self_signed));
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
  const auto d = proxy_of(sample(manifest::Tls::self_signed));
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
  auto m = sample(manifest::Tls::self_signed);
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
  auto m = sample(manifest::Tls::self_signed);
  m.proxy->bot_user_agents = {"evil\"bot", "a\\b", "x$"};
  const auto d = proxy_of(m);
  const auto& site = std::get<File>(find(d, "file:/etc/nginx/sites-enabled/shop.conf")->spec).content;
  // regex-escaped, then nginx-quoted: nginx reads \\ as \ and \" as ".
  CHECK(has(site, "|evil\\\"bot|a\\\\\\\\b|x\\\\$)\" 1;"));
}
