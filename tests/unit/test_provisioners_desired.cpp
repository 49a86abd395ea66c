#include <core/converge/engine.hpp>
#include <core/ssh/keys.hpp>
#include <provisioners/provisioner.hpp>
#include <tests/unit/desired.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <optional>

using namespace berth;
using namespace berth::converge;
using berth::test::find;

namespace {

manifest::Manifest desired_sample() {
  manifest::Manifest m;
  m.app.name = "shop";
  m.app.run.command = "node server.js";
  m.app.run.port = 3000;
  m.app.run.instances = 2;
  m.app.run.env = {{"NODE_ENV", "production"}};
  m.app.run.secrets = {{.name = "JWT_SECRET", .generate = true, .length = 48}};
  m.servers = {{.name = "web", .address = "198.18.0.2"}};
  m.databases = {{.key = "main", .engine = manifest::Engine::postgresql, .name = "shop",
                  .user = "shop", .env_var = "DATABASE_URL"}};
  manifest::Proxy proxy;
  proxy.domains = {"shop.test"};
  proxy.rate_limit = manifest::RateLimit{.requests_per_second = 5, .burst = 10};
  m.proxy = proxy;
  m.jobs = {{.name = "reminders", .schedule = "daily", .on_calendar = "daily",
             .command = "node jobs/reminders.js"}};
  return m;
}

bool secret_listed_twice(const provisioners::Desired& d) {
  for (std::size_t i = 0; i < d.secrets.size(); ++i) {
    for (std::size_t j = i + 1; j < d.secrets.size(); ++j) {
      if (d.secrets[i].name == d.secrets[j].name) return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("provisioners: one host with every role gets the whole stack") {
  const auto m = desired_sample();
  manifest::SecretSources secrets(m, [](const std::string&) { return std::nullopt; });
  const auto d = provisioners::desired_state(m, m.servers[0], secrets);

  CHECK(find(d, "package:nginx"));
  CHECK(find(d, "package:postgresql"));
  CHECK(find(d, "package:nodejs"));
  CHECK_FALSE(find(d, "unit:shop@3000.service"));  // deploys own the instances
  CHECK(find(d, "unit:shop-job-reminders.timer"));

  SECTION("the unit gives a stopping instance [app.run] stop_timeout, 30 s by default") {
    const auto* unit = find(d, "file:/etc/systemd/system/shop@.service");
    REQUIRE(unit);
    CHECK(std::get<File>(unit->spec).content.find("TimeoutStopSec=30\n") != std::string::npos);
    auto slow = m;
    slow.app.run.stop_timeout = std::chrono::milliseconds(90500);
    const auto d2 = provisioners::desired_state(slow, slow.servers[0], secrets);
    CHECK(std::get<File>(find(d2, "file:/etc/systemd/system/shop@.service")->spec)
              .content.find("TimeoutStopSec=90500ms\n") != std::string::npos);
  }

  SECTION("the env file is secret and holds placeholders for generated values") {
    const auto* env = find(d, "file:/etc/berth/shop/app.env");
    REQUIRE(env);
    const auto& f = std::get<File>(env->spec);
    CHECK(f.mode == "0600");
    CHECK(f.sensitive == Sensitive::yes);
    CHECK(f.content.find("NODE_ENV=\"production\"") != std::string::npos);
    CHECK(f.content.find("JWT_SECRET=\"@@berth-secret:JWT_SECRET@@\"") != std::string::npos);
    CHECK(f.content.find("DATABASE_URL=\"postgres://shop:@@berth-secret:db_main_password@@@127.0.0.1:5432/shop\"") !=
          std::string::npos);
    CHECK(d.secrets.size() == 2);
    CHECK_FALSE(secret_listed_twice(d));
  }
  SECTION("nginx: validated site with upstream, rate limit and bot block") {
    const auto* site = find(d, "file:/etc/nginx/sites-enabled/shop.conf");
    REQUIRE(site);
    const auto& f = std::get<File>(site->spec);
    CHECK(f.validate == "nginx -t");
    CHECK(f.content.find("include /etc/berth/shop/upstream.conf;") != std::string::npos);
    CHECK(f.content.find("rate=5r/s") != std::string::npos);
    CHECK(f.content.find("burst=10 nodelay") != std::string::npos);
    CHECK(f.content.find("limit_req_status 429") != std::string::npos);
    CHECK(f.content.find("return 403") != std::string::npos);
    CHECK(f.content.find("return 301 https://") != std::string::npos);
    CHECK(site->notify == std::vector<std::string>{"reload:nginx.service"});
  }
  SECTION("the upstream starts blue and is never overwritten by setup") {
    const auto& f = std::get<File>(find(d, "file:/etc/berth/shop/upstream.conf")->spec);
    CHECK(f.overwrite == Overwrite::no);
    CHECK(f.content.find("server 127.0.0.1:3000") != std::string::npos);
    CHECK(f.content.find("server 127.0.0.1:3001") != std::string::npos);
    CHECK(provisioners::app_ports(m, provisioners::Color::green) == std::vector<int>{3002, 3003});
  }
  SECTION("the env file and the unit owe the app's blue/green restart, not a restart in place") {
    CHECK(find(d, "file:/etc/berth/shop/app.env")->notify == std::vector<std::string>{"release:shop"});
    CHECK(find(d, "file:/etc/systemd/system/shop@.service")->notify ==
          std::vector<std::string>{"daemon-reload", "release:shop"});
  }
  SECTION("the live color's instances must run once a release is live") {
    const auto* live = find(d, "command:live-instances:shop");
    REQUIRE(live);
    const auto& c = std::get<Command>(live->spec);
    CHECK(c.unless.starts_with("[ -e '/srv/shop'/current ] || exit 0\n"));
    CHECK(c.unless.find("units='shop@3002.service shop@3003.service'; else units='shop@3000.service shop@3001.service'") !=
          std::string::npos);
    CHECK(c.run.ends_with("systemctl start $units"));
    auto no_proxy = m;
    no_proxy.proxy.reset();
    CHECK_FALSE(find(provisioners::desired_state(no_proxy, no_proxy.servers[0], secrets), "command:live-instances:shop"));
  }
}

TEST_CASE("provisioners: only the python runtime sets a PATH, with the release's virtualenv first") {
  auto m = desired_sample();
  manifest::SecretSources secrets(m, [](const std::string&) { return std::nullopt; });
  const auto content = [&](std::string_view id) {
    const auto d = provisioners::desired_state(m, m.servers[0], secrets);
    const auto* r = find(d, id);
    REQUIRE(r);
    return std::get<File>(r->spec).content;
  };
  const char* unit = "file:/etc/systemd/system/shop@.service";
  const char* job = "file:/etc/systemd/system/shop-job-reminders.service";
  SECTION("node: systemd's own PATH") {
    CHECK(content(unit).find("PATH") == std::string::npos);
    CHECK(content(job).find("PATH") == std::string::npos);
  }
  SECTION("python") {
    m.app.run.runtime = "python";
    CHECK(content(unit).find("Environment=PATH=/srv/shop/instances/%i/.venv/bin:") != std::string::npos);
    CHECK(content(job).find("Environment=PATH=/srv/shop/current/.venv/bin:") != std::string::npos);
    const auto d = provisioners::desired_state(m, m.servers[0], secrets);
    CHECK(find(d, "package:python3-venv"));
  }
}

TEST_CASE("provisioners: [app.run] node installs NodeSource's nodejs, as MongoDB's repository") {
  auto m = desired_sample();
  m.app.run.node = "22";
  manifest::SecretSources secrets(m, [](const std::string&) { return std::nullopt; });
  const auto d = provisioners::desired_state(m, m.servers[0], secrets);
  SECTION("the key, dearmored once into the keyring, in the packages stage") {
    const auto* key = find(d, "command:/usr/share/keyrings/nodesource.gpg");
    REQUIRE(key);
    CHECK(key->stage == Stage::packages);
    const auto& c = std::get<Command>(key->spec);
    CHECK(c.run == "curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key -o "
                   "/usr/share/keyrings/nodesource.gpg.asc && gpg --batch --yes --dearmor -o "
                   "/usr/share/keyrings/nodesource.gpg.new /usr/share/keyrings/nodesource.gpg.asc && rm -f "
                   "/usr/share/keyrings/nodesource.gpg.asc && mv -f /usr/share/keyrings/nodesource.gpg.new "
                   "/usr/share/keyrings/nodesource.gpg");
    CHECK(c.creates == "/usr/share/keyrings/nodesource.gpg");
    CHECK(find(d, "package:curl")->stage == Stage::packages);
    CHECK(find(d, "package:gnupg")->stage == Stage::packages);
  }
  SECTION("the repository of the major, signed by that key") {
    const auto* list = find(d, "file:/etc/apt/sources.list.d/nodesource.list");
    REQUIRE(list);
    CHECK(list->stage == Stage::packages);
    CHECK(std::get<File>(list->spec).content ==
          "# Managed by berth: NodeSource's apt repository, Node.js 22 ([app.run] node).\n"
          "deb [ signed-by=/usr/share/keyrings/nodesource.gpg ] https://deb.nodesource.com/node_22.x nodistro main\n");
  }
  SECTION("nodejs in the stage after the repository") {
    const auto* package = find(d, "package:nodejs");
    REQUIRE(package);
    CHECK(package->stage == Stage::accounts);
  }
  SECTION("NodeSource's nodejs wins over Debian's, an installed one included") {
    const auto* pin = find(d, "file:/etc/apt/preferences.d/nodesource");
    REQUIRE(pin);
    CHECK(pin->stage == Stage::packages);
    const auto& pref = std::get<File>(pin->spec).content;
    CHECK(pref.find("\nPackage: nodejs\nPin: origin deb.nodesource.com\nPin-Priority: 600\n") != std::string::npos);
    const auto* move = find(d, "command:nodejs-from-nodesource");
    REQUIRE(move);
    CHECK(move->stage == Stage::packages);
    CHECK(move->notify == std::vector<std::string>{"release:shop"});
    const auto& c = std::get<Command>(move->spec);
    CHECK(c.run.find("update && apt-get -q -y ") != std::string::npos);
    CHECK(c.run.ends_with("install --no-install-recommends --allow-downgrades nodejs/nodistro"));
    CHECK(c.unless == "dpkg-query -W -f='${db:Status-Status} ${Version}' nodejs 2>/dev/null | "
                      "grep -q '^installed 22[.][^ ]*nodesource'");
    // The key and the list are in place before the command runs: same stage, earlier.
    const auto index = [&](std::string_view id) { return find(d, id) - d.resources.data(); };
    CHECK(index("command:/usr/share/keyrings/nodesource.gpg") < index("command:nodejs-from-nodesource"));
    CHECK(index("file:/etc/apt/sources.list.d/nodesource.list") < index("command:nodejs-from-nodesource"));
    CHECK(index("file:/etc/apt/preferences.d/nodesource") < index("command:nodejs-from-nodesource"));
  }
  SECTION("the guard reads the major the manifest asks for") {
    auto m24 = m;
    m24.app.run.node = "24";
    const auto d24 = provisioners::desired_state(m24, m24.servers[0], secrets);
    CHECK(std::get<Command>(find(d24, "command:nodejs-from-nodesource")->spec).unless.find("'^installed 24[.]") !=
          std::string::npos);
    CHECK(std::get<File>(find(d24, "file:/etc/apt/sources.list.d/nodesource.list")->spec).content.find("/node_24.x ") !=
          std::string::npos);
  }
  SECTION("with MongoDB on the same host, curl and gnupg once") {
    auto both = m;
    both.databases.push_back({.key = "docs", .engine = manifest::Engine::mongodb, .name = "shop", .user = "shop",
                              .env_var = "MONGODB_URL"});
    const auto d2 = provisioners::desired_state(both, both.servers[0], secrets);
    CHECK(find(d2, "file:/etc/apt/sources.list.d/mongodb-org-7.0.list"));
    CHECK(find(d2, "file:/etc/apt/sources.list.d/nodesource.list"));
    std::vector<std::string> ids;
    for (const auto& r : d2.resources) ids.push_back(r.id());
    std::sort(ids.begin(), ids.end());
    CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
  }
  SECTION("without node: Debian's nodejs, no repository") {
    const auto debian = desired_sample();
    const auto plain = provisioners::desired_state(debian, debian.servers[0], secrets);
    CHECK(find(plain, "package:nodejs")->stage == Stage::packages);
    CHECK_FALSE(find(plain, "file:/etc/apt/sources.list.d/nodesource.list"));
    CHECK_FALSE(find(plain, "command:nodejs-from-nodesource"));
  }
}

TEST_CASE("provisioners: roles decide what a host gets") {
  auto m = desired_sample();
  m.servers = {{.name = "a", .address = "198.18.0.2", .roles = {"app"}},
               {.name = "b", .address = "198.18.0.3", .roles = {"app"}},
               {.name = "db", .address = "198.18.0.4", .roles = {"db"}}};
  m.proxy.reset();
  manifest::SecretSources secrets(m, [](const std::string&) { return std::nullopt; });
  const auto a = provisioners::desired_state(m, m.servers[0], secrets);
  const auto b = provisioners::desired_state(m, m.servers[1], secrets);
  const auto db = provisioners::desired_state(m, m.servers[2], secrets);
  CHECK_FALSE(find(a, "package:postgresql"));
  CHECK(find(db, "package:postgresql"));
  CHECK_FALSE(find(db, "package:nodejs"));
  SECTION("run_on = one: the timer is enabled on exactly one host") {
    CHECK(std::get<Unit>(find(a, "unit:shop-job-reminders.timer")->spec).enabled);
    CHECK_FALSE(std::get<Unit>(find(b, "unit:shop-job-reminders.timer")->spec).enabled);
  }
  SECTION("the app reaches the database server by address") {
    const auto& env = std::get<File>(find(a, "file:/etc/berth/shop/app.env")->spec).content;
    CHECK(env.find("@198.18.0.4:5432/shop") != std::string::npos);
  }
  SECTION("a secret is made on one server; the others that use it hold a copy") {
    const auto secret = [](const provisioners::Desired& d, std::string_view name) {
      const auto it = std::find_if(d.secrets.begin(), d.secrets.end(),
                                   [&](const auto& s) { return s.name == name; });
      REQUIRE(it != d.secrets.end());
      return *it;
    };
    // The database password: the db server's, copied to each app server.
    CHECK(secret(db, "db_main_password").owner == "db");
    CHECK_FALSE(secret(db, "db_main_password").copy);
    CHECK(secret(a, "db_main_password").owner == "db");
    CHECK(secret(a, "db_main_password").copy);
    CHECK(secret(b, "db_main_password").copy);
    // The app's generated secret: the primary app server's.
    CHECK(secret(a, "JWT_SECRET").owner == "a");
    CHECK_FALSE(secret(a, "JWT_SECRET").copy);
    CHECK(secret(b, "JWT_SECRET").owner == "a");
    CHECK(secret(b, "JWT_SECRET").copy);
    CHECK(secret(b, "JWT_SECRET").length == 48);
    // The db server uses no app secret.
    CHECK(std::none_of(db.secrets.begin(), db.secrets.end(),
                       [](const auto& s) { return s.name == "JWT_SECRET"; }));
  }
  SECTION("an app-only step on the db server still fills the database URL's password") {
    m.servers[2].roles = {"db", "app"};
    const auto app_only = provisioners::desired_state(m, m.servers[2], secrets, {"app"});
    CHECK_FALSE(secret_listed_twice(app_only));
    const auto it = std::find_if(app_only.secrets.begin(), app_only.secrets.end(),
                                 [](const auto& s) { return s.name == "db_main_password"; });
    REQUIRE(it != app_only.secrets.end());
    CHECK_FALSE(it->copy);
  }
}

TEST_CASE("engine: generated secrets are url-safe and of the asked strength") {
  const auto v = generate_secret_value(24);
  CHECK(v.size() == 32);
  CHECK(v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
        std::string::npos);
  CHECK(generate_secret_value(24) != v);
}

namespace {

// A host for resolve_secrets: its desired secrets and what its probe read.
struct FakeHost {
  provisioners::Desired desired;
  ProbedHost probed;
};

FakeHost fake_host(bool copy, std::optional<std::string> value, bool probe_failed = false) {
  FakeHost host;
  host.desired.secrets = {{.name = "pw", .path = "/etc/berth/x/secrets/pw", .length = 24,
                           .owner = "db", .copy = copy}};
  if (value) host.probed.probe.files["pw"] = *value;
  if (probe_failed) host.probed.report.error = "connection lost";
  return host;
}

SecretValues resolve(const std::vector<const FakeHost*>& hosts) {
  std::vector<const provisioners::Desired*> desired;
  std::vector<const ProbedHost*> probed;
  for (const auto* h : hosts) {
    desired.push_back(&h->desired);
    probed.push_back(&h->probed);
  }
  return resolve_secrets(desired, probed);
}

}  // namespace

TEST_CASE("engine: a secret has one value across the hosts of a run") {
  SECTION("the owner's value wins over a copy's") {
    const auto owner = fake_host(false, "from-db");
    const auto copy = fake_host(true, "stale");
    CHECK(resolve({&copy, &owner}).at("pw").value == "from-db");
  }
  SECTION("an owner without one adopts a copy's value") {
    const auto owner = fake_host(false, std::nullopt);
    const auto copy = fake_host(true, "kept");
    CHECK(resolve({&owner, &copy}).at("pw").value == "kept");
  }
  SECTION("nobody has one: one new value for all") {
    const auto owner = fake_host(false, std::nullopt);
    const auto copy = fake_host(true, std::nullopt);
    const auto values = resolve({&owner, &copy});
    CHECK(values.at("pw").error.empty());
    CHECK(values.at("pw").value.size() == 32);
  }
  SECTION("the owner is not in the run: a copy's value, never a new one") {
    const auto copy = fake_host(true, "kept");
    CHECK(resolve({&copy}).at("pw").value == "kept");
    const auto empty_copy = fake_host(true, std::nullopt);
    const auto values = resolve({&empty_copy});
    CHECK(values.at("pw").value.empty());
    CHECK(values.at("pw").error ==
          "secret pw is made on server db, which this run leaves out: run once with db included "
          "(in --hosts or --role)");
  }
  SECTION("the owner could not be probed: nothing new is made") {
    const auto owner = fake_host(false, std::nullopt, true);
    const auto copy = fake_host(true, std::nullopt);
    const auto values = resolve({&owner, &copy});
    CHECK(values.at("pw").error == "secret pw is made on server db, which could not be read in this run");
  }
}

TEST_CASE("engine: a secret is an SSH key, or a file the owner's own system made") {
  SECTION("an ssh_key secret is a fresh OpenSSH ed25519 key, and its public half derives from it") {
    auto owner = fake_host(false, std::nullopt);
    owner.desired.secrets.front().kind = converge::SecretKind::ssh_key;
    const auto values = resolve({&owner});
    const auto& key = values.at("pw").value;
    CHECK(key.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    CHECK(key.ends_with("-----END OPENSSH PRIVATE KEY-----"));
    const auto pub = ssh::public_key_of(key + "\n");
    REQUIRE(pub);
    CHECK(pub->starts_with("ssh-ed25519 AAAA"));
    CHECK(resolve({&owner}).at("pw").value != key);
  }
  SECTION("a found secret is the owner's file, never a new value") {
    auto owner = fake_host(false, "ssh-ed25519 AAAAhost root@vault");
    owner.desired.secrets.front().kind = converge::SecretKind::found;
    auto copy = fake_host(true, std::nullopt);
    copy.desired.secrets.front().kind = converge::SecretKind::found;
    CHECK(resolve({&copy, &owner}).at("pw").value == "ssh-ed25519 AAAAhost root@vault");
    owner.probed.probe.files.clear();
    const auto values = resolve({&copy, &owner});
    CHECK(values.at("pw").value.empty());
    CHECK(values.at("pw").error == "secret pw: server db has no /etc/berth/x/secrets/pw");
  }
  SECTION("a host that only uses the value keeps no copy and adds no value") {
    auto user = fake_host(true, std::nullopt);
    user.desired.secrets.front().path.clear();
    const auto owner = fake_host(false, "from-db");
    CHECK(resolve({&user, &owner}).at("pw").value == "from-db");
  }
}

TEST_CASE("provisioners: an app server behind a proxy of another host opens its instances to that proxy only") {
  auto m = desired_sample();
  m.servers = {{.name = "app1", .address = "198.18.0.11", .roles = {"app"}},
               {.name = "db", .address = "198.18.0.12", .roles = {"db"}, .private_address = "10.0.0.12"},
               {.name = "lb", .address = "198.18.0.10", .roles = {"proxy"}, .private_address = "10.0.0.10"}};
  manifest::SecretSources secrets(m, [](const std::string&) { return std::nullopt; });
  const auto d = provisioners::desired_state(m, m.servers[0], secrets);
  // Its live color's record, though no nginx runs here.
  CHECK(find(d, "file:/etc/berth/shop/upstream.conf"));
  CHECK_FALSE(find(d, "package:nginx"));
  const auto* nft = find(d, "file:/etc/berth/firewall.d/shop.nft");
  REQUIRE(nft);
  const auto& rules = std::get<File>(nft->spec).content;
  for (const int port : layout::app_ports(m, layout::Color::blue)) {
    CHECK(rules.find(fmt::format("ip saddr 10.0.0.10 tcp dport {} accept", port)) != std::string::npos);
  }
  for (const int port : layout::app_ports(m, layout::Color::green)) {
    CHECK(rules.find(fmt::format("ip saddr 10.0.0.10 tcp dport {} accept", port)) != std::string::npos);
  }
  CHECK(rules.find("198.18.0.10") == std::string::npos);
  // The database is reached on the db server's private address.
  const auto* env = find(d, "file:/etc/berth/shop/app.env");
  REQUIRE(env);
  CHECK(std::get<File>(env->spec).content.find("@10.0.0.12:5432/") != std::string::npos);
}
