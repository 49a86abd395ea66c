#include <core/layout/claims.hpp>
#include <provisioners/provisioner.hpp>
#include <tests/unit/desired.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace berth;
using berth::test::has;

namespace {

manifest::Manifest app(const std::string& name, int port) {
  manifest::Manifest m;
  m.app.name = name;
  m.app.run.command = "node server.js";
  m.app.run.port = port;
  m.app.run.instances = 2;
  m.servers = {{.name = "web", .address = "198.18.0.2"}};
  m.databases = {{.key = "main",
                  .engine = manifest::Engine::postgresql,
                  .name = name,
                  .user = name,
                  .env_var = "DATABASE_URL"}};
  manifest::Proxy proxy;
  proxy.domains = {name + ".test"};
  m.proxy = proxy;
  return m;
}

std::string claim_of(const manifest::Manifest& m) {
  manifest::SecretSources secrets(m, [](const std::string&) { return std::nullopt; });
  return provisioners::desired_state(m, m.servers[0], secrets).claim;
}

std::string refusal(const manifest::Manifest& ours, const manifest::Manifest& theirs) {
  const std::map<std::string, std::string> files{
      {theirs.app.name + ".claim", claim_of(theirs)},
      {theirs.app.name + ".origin", "/home/a/" + theirs.app.name + "/berth.toml\n"},
      {ours.app.name + ".claim", "stale: its own claim is never compared"}};
  return layout::refusal(claim_of(ours), ours.app.name, "berth.toml", files);
}

}  // namespace

TEST_CASE("claims: a claim reads back as it was written") {
  layout::Claim c;
  c.app = "shop";
  c.host = {{"timezone", "Europe/Berlin"}, {"ssh_keys", "sha256:abcd (2 keys)"}};
  c.first_port = 3000;
  c.last_port = 3003;
  c.site = true;
  c.domains = {"shop.test", "www.shop.test"};
  c.databases = {{.engine = "postgresql", .name = "shop", .user = "shopper"},
                 {.engine = "redis", .name = "-", .user = "-"}};
  c.shared = {{"/etc/sudoers.d/berth", "0123"}};
  c.own = {{.kind = "file",
            .name = "/etc/nginx/sites-enabled/shop.conf",
            .handlers = {"reload:nginx.service", "daemon-reload"}},
           {.kind = "user", .name = "shop"}};
  c.data = {"/etc/berth/shop/secrets"};
  const auto back = layout::parse_claim("shop", layout::render_claim(c));
  CHECK(back.host == c.host);
  CHECK(back.first_port == 3000);
  CHECK(back.last_port == 3003);
  CHECK(back.site);
  CHECK(back.domains == c.domains);
  REQUIRE(back.databases.size() == 2);
  CHECK(back.databases[0].user == "shopper");
  CHECK(back.databases[1].engine == "redis");
  CHECK(back.shared == c.shared);
  REQUIRE(back.own.size() == 2);
  CHECK(back.own[0].handlers == c.own[0].handlers);
  CHECK(back.own[1].handlers.empty());
  CHECK(back.data == c.data);
  SECTION("a value cannot start a line of its own") {
    c.host = {{"timezone", "UTC\nports 1 65535"}};
    const auto again = layout::parse_claim("shop", layout::render_claim(c));
    CHECK(again.first_port == 3000);
  }
}

TEST_CASE("claims: what an app takes on its server") {
  const auto c = layout::parse_claim("shop", claim_of(app("shop", 3000)));
  CHECK(c.first_port == 3000);
  CHECK(c.last_port == 3003);  // blue 3000-3001, green 3002-3003
  CHECK(c.domains == std::vector<std::string>{"shop.test"});
  REQUIRE(c.databases.size() == 1);
  CHECK(c.databases[0].name == "shop");
  const auto own = [&](const std::string& kind, const std::string& name) {
    return std::any_of(c.own.begin(), c.own.end(),
                       [&](const auto& o) { return o.kind == kind && o.name == name; });
  };
  // Its own: what `destroy` removes, with what runs after.
  CHECK(own("file", "/etc/nginx/sites-enabled/shop.conf"));
  CHECK(own("file", "/etc/berth/firewall.d/shop.nft"));
  CHECK(own("user", "shop"));
  CHECK(own("dir", "/srv/shop"));
  // Shared with any other app: never its own, compared by content.
  CHECK_FALSE(own("file", "/etc/nftables.conf"));
  CHECK(c.shared.contains("/etc/postgresql/15/main/pg_hba.conf"));
  // base's files follow the host settings alone, which are compared as such.
  CHECK_FALSE(own("file", "/etc/ssh/sshd_config.d/00-berth.conf"));
  CHECK_FALSE(c.shared.contains("/etc/ssh/sshd_config.d/00-berth.conf"));
  CHECK_FALSE(c.shared.contains("/etc/nginx/sites-enabled/shop.conf"));
}

TEST_CASE("claims: two apps that fit on one server") {
  auto a = app("shop", 3000);
  auto b = app("blog", 3100);
  CHECK(refusal(b, a).empty());
  CHECK(refusal(a, b).empty());
  SECTION("one without domains is the default site") {
    b.proxy->domains.clear();
    CHECK(refusal(b, a).empty());
  }
}

TEST_CASE("claims: what two apps on one server cannot share") {
  auto a = app("shop", 3000);
  auto b = app("blog", 3100);
  SECTION("a host setting: both manifests are named, nothing changes") {
    b.base.timezone = "Europe/Berlin";
    const auto r = refusal(b, a);
    CHECK(has(r, "app blog (berth.toml) cannot share this server with app shop (set up from "
                 "/home/a/shop/berth.toml)"));
    CHECK(has(r, "the host setting timezone is Europe/Berlin here, UTC for shop"));
    CHECK(has(r, "Nothing was changed."));
  }
  SECTION("the login: root's login would be turned off for the other") {
    b.servers[0].user = "admin";
    CHECK(has(refusal(b, a),
              "the host setting permit_root_login is no here, prohibit-password for shop"));
  }
  SECTION("ports, with the first free ones") {
    b.app.run.port = 3002;
    const auto r = refusal(b, a);
    CHECK(has(r, "the instance ports 3002-3005 (both colors) overlap shop's 3000-3003"));
    CHECK(has(r, "ports 3004-3007 are free of every app here: set [app.run] port = 3004"));
  }
  SECTION("two default sites, or one domain") {
    a.proxy->domains.clear();
    b.proxy->domains.clear();
    CHECK(has(refusal(b, a), "both this app and shop are the server's default site"));
    a.proxy->domains = {"shop.test", "www.test"};
    b.proxy->domains = {"www.test"};
    CHECK(has(refusal(b, a), "shop also serves www.test"));
  }
  SECTION("a database or role, or Redis") {
    b.databases[0].name = "shop";
    CHECK(has(refusal(b, a), "shop has a postgresql database named shop here too"));
    b.databases[0].name = "blog";
    b.databases[0].user = "shop";
    CHECK(has(refusal(b, a), "shop has a postgresql role (user) named shop here too"));
    a.databases = {{.key = "cache",
                    .engine = manifest::Engine::redis,
                    .name = "0",
                    .user = "shop",
                    .env_var = "REDIS_URL"}};
    b.databases = {{.key = "cache",
                    .engine = manifest::Engine::redis,
                    .name = "0",
                    .user = "blog",
                    .env_var = "REDIS_URL"}};
    CHECK(has(refusal(b, a), "shop has Redis here too"));
  }
  SECTION("a shared file each would write differently") {
    a.base.harden = false;  // no host settings compared but this one
    b.base.harden = false;
    b.servers.push_back({.name = "app2", .address = "198.18.0.3", .roles = {"app"}});
    b.servers[0].roles = {"db", "app", "proxy"};
    // blog's database lets in its other app server: pg_hba.conf is not shop's any more.
    CHECK(
        has(refusal(b, a),
            "this app would write /etc/postgresql/15/main/pg_hba.conf differently than shop does"));
  }
}

TEST_CASE("claims: the first free ports skip every app's") {
  layout::Claim x{.app = "x", .first_port = 3000, .last_port = 3003};
  layout::Claim y{.app = "y", .first_port = 3004, .last_port = 3009};
  CHECK(layout::free_ports_from({x, y}, 3000, 4) == 3010);
  CHECK(layout::free_ports_from({y}, 3000, 4) == 3000);
  CHECK(layout::free_ports_from({y}, 3002, 4) == 3010);
}
