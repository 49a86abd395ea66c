#include <core/util/process.hpp>
#include <provisioners/database/database.hpp>
#include <provisioners/provisioner.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace berth;
using namespace berth::converge;

namespace {

manifest::Manifest with(manifest::Engine engine, std::string key = "main") {
  manifest::Manifest m;
  m.app.name = "shop";
  m.servers = {{.name = "web", .address = "198.18.0.2"}};
  m.databases = {{.key = std::move(key),
                  .engine = engine,
                  .name = "shop",
                  .user = "shop",
                  .env_var = engine == manifest::Engine::redis     ? "REDIS_URL"
                             : engine == manifest::Engine::mongodb ? "MONGODB_URL"
                                                                   : "DATABASE_URL"}};
  return m;
}

// The db server "db" and the app server "web" apart.
manifest::Manifest two_hosts(manifest::Engine engine) {
  auto m = with(engine);
  m.servers = {{.name = "db", .address = "198.18.0.3", .roles = {"db"}},
               {.name = "web", .address = "198.18.0.2", .roles = {"app", "proxy"}}};
  return m;
}

provisioners::Desired databases_of(const manifest::Manifest& m, std::size_t server = 0) {
  provisioners::Desired d;
  provisioners::add_databases(m, m.servers[server], d);
  return d;
}

const Resource* find(const provisioners::Desired& d, std::string_view id) {
  for (const auto& r : d.resources) {
    if (r.id() == id) return &r;
  }
  return nullptr;
}

const File& file(const provisioners::Desired& d, std::string_view path) {
  const auto* r = find(d, "file:" + std::string(path));
  REQUIRE(r);
  return std::get<File>(r->spec);
}

std::vector<const Command*> commands(const provisioners::Desired& d) {
  std::vector<const Command*> out;
  for (const auto& r : d.resources) {
    if (const auto* c = std::get_if<Command>(&r.spec)) out.push_back(c);
  }
  return out;
}

bool has(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::string env_value(const manifest::Manifest& m, std::string_view name) {
  for (const auto& [k, v] : provisioners::database_env(m)) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace

TEST_CASE("postgresql: private, scram only, a role and a database") {
  SECTION("one host: localhost only, nothing opened in the firewall") {
    const auto m = with(manifest::Engine::postgresql);
    const auto d = databases_of(m);
    CHECK(find(d, "package:postgresql"));
    CHECK(find(d, "unit:postgresql.service"));
    const auto& conf = file(d, "/etc/postgresql/15/main/conf.d/berth.conf");
    CHECK(has(conf.content, "listen_addresses = '127.0.0.1'\n"));
    CHECK(has(conf.content, "password_encryption = 'scram-sha-256'"));
    CHECK(has(conf.validate, "pg_file_settings WHERE error IS NOT NULL"));
    CHECK(find(d, "file:/etc/postgresql/15/main/conf.d/berth.conf")->notify ==
          std::vector<std::string>{"restart:postgresql.service"});
    const auto& hba = file(d, "/etc/postgresql/15/main/pg_hba.conf");
    CHECK(has(hba.content, "host    all       all   127.0.0.1/32 scram-sha-256"));
    CHECK_FALSE(has(hba.content, "md5"));
    CHECK_FALSE(has(hba.content, "trust"));
    CHECK(has(hba.validate, "pg_hba_file_rules"));
    CHECK(hba.owner == "postgres");
    CHECK(find(d, "file:/etc/postgresql/15/main/pg_hba.conf")->notify ==
          std::vector<std::string>{"reload:postgresql.service"});
    CHECK(d.firewall.empty());
    REQUIRE(d.secrets.size() == 1);
    CHECK(d.secrets[0].path == "/etc/berth/shop/secrets/db_main_password");
    const auto cmds = commands(d);
    REQUIRE(cmds.size() == 2);
    CHECK(has(cmds[0]->run, "pw=$(cat /etc/berth/shop/secrets/db_main_password)"));
    CHECK(has(cmds[0]->unless, "pg_roles WHERE rolname='shop'"));
    CHECK(has(cmds[1]->run, "CREATE DATABASE \"shop\" OWNER \"shop\""));
    CHECK(env_value(m, "DATABASE_URL") ==
          "postgres://shop:@@berth-secret:db_main_password@@@127.0.0.1:5432/shop");
  }
  SECTION(
      "the app on another host: the private address, pg_hba and the firewall for that host only") {
    const auto m = two_hosts(manifest::Engine::postgresql);
    const auto d = databases_of(m);
    CHECK(has(file(d, "/etc/postgresql/15/main/conf.d/berth.conf").content,
              "listen_addresses = '127.0.0.1,198.18.0.3'"));
    CHECK(has(file(d, "/etc/postgresql/15/main/pg_hba.conf").content,
              "host    \"shop\"  \"shop\"  198.18.0.2/32  scram-sha-256"));
    REQUIRE(d.firewall.size() == 1);
    CHECK(d.firewall[0].port == 5432);
    CHECK(d.firewall[0].proto == "tcp");
    CHECK(d.firewall[0].from == "198.18.0.2");
    CHECK(env_value(m, "DATABASE_URL") ==
          "postgres://shop:@@berth-secret:db_main_password@@@198.18.0.3:5432/shop");
  }
  SECTION("two databases share the server's config, each has its role") {
    auto m = two_hosts(manifest::Engine::postgresql);
    m.databases.push_back(m.databases[0]);
    m.databases[1].key = "reports";
    m.databases[1].name = "reports";
    m.databases[1].user = "reporter";
    m.databases[1].env_var = "REPORTS_URL";
    const auto d = databases_of(m);
    CHECK(std::count_if(d.resources.begin(), d.resources.end(), [](const Resource& r) {
            return r.id() == "file:/etc/postgresql/15/main/pg_hba.conf";
          }) == 1);
    CHECK(has(file(d, "/etc/postgresql/15/main/pg_hba.conf").content,
              "\"reports\"  \"reporter\"  198.18.0.2/32"));
    CHECK(d.firewall.size() == 1);
    CHECK(commands(d).size() == 4);
  }
  SECTION("a name that would need quoting is refused at its manifest location") {
    auto m = with(manifest::Engine::postgresql);
    m.databases[0].name = "shop'; DROP";
    m.databases[0].where = {"berth.toml", 12, 1};
    CHECK_THROWS_WITH(databases_of(m), Catch::Contains("berth.toml:12:1: databases.main.name"));
  }
}

TEST_CASE("mysql: MariaDB bound privately, a database and users created over the socket") {
  SECTION("one host") {
    const auto m = with(manifest::Engine::mysql);
    const auto d = databases_of(m);
    CHECK(find(d, "package:mariadb-server"));
    CHECK(find(d, "unit:mariadb.service"));
    const auto& cnf = file(d, "/etc/mysql/mariadb.conf.d/60-berth.cnf");
    CHECK(has(cnf.content, "[mysqld]\nbind-address = 127.0.0.1\n"));
    CHECK(has(cnf.validate, "mariadbd --user=mysql --help --verbose"));
    CHECK(find(d, "file:/etc/mysql/mariadb.conf.d/60-berth.cnf")->notify ==
          std::vector<std::string>{"restart:mariadb.service"});
    const auto cmds = commands(d);
    REQUIRE(cmds.size() == 3);
    CHECK(has(cmds[0]->run, "CREATE DATABASE IF NOT EXISTS `shop`"));
    CHECK(has(cmds[0]->unless, "information_schema.schemata WHERE schema_name='shop'"));
    CHECK(has(cmds[1]->run, "'shop'@'localhost'"));
    CHECK(has(cmds[2]->run, "'shop'@'127.0.0.1'"));
    for (const auto* c : {cmds[1], cmds[2]}) {
      // The password travels from the 0600 file to the client's stdin, never in argv.
      CHECK(has(c->run, "pw=$(cat /etc/berth/shop/secrets/db_main_password)"));
      CHECK(has(c->run, "IDENTIFIED BY '%s'"));
      CHECK(has(c->run, "| mysql"));
      CHECK(has(c->run, "GRANT ALL PRIVILEGES ON \\`shop\\`.*"));
    }
    REQUIRE(d.secrets.size() == 1);
    CHECK(d.firewall.empty());
    CHECK(env_value(m, "DATABASE_URL") ==
          "mysql://shop:@@berth-secret:db_main_password@@@127.0.0.1:3306/shop");
  }
  SECTION("the app on another host") {
    const auto m = two_hosts(manifest::Engine::mysql);
    const auto d = databases_of(m);
    CHECK(has(file(d, "/etc/mysql/mariadb.conf.d/60-berth.cnf").content,
              "bind-address = 127.0.0.1,198.18.0.3"));
    const auto cmds = commands(d);
    REQUIRE(cmds.size() == 4);
    CHECK(has(cmds[3]->run, "'shop'@'198.18.0.2'"));
    REQUIRE(d.firewall.size() == 1);
    CHECK(d.firewall[0].port == 3306);
    CHECK(d.firewall[0].from == "198.18.0.2");
    CHECK(env_value(m, "DATABASE_URL") ==
          "mysql://shop:@@berth-secret:db_main_password@@@198.18.0.3:3306/shop");
  }
}

TEST_CASE("redis: bound privately, a generated requirepass, an eviction policy") {
  SECTION("one host") {
    const auto m = with(manifest::Engine::redis, "cache");
    const auto d = databases_of(m);
    const auto& conf = file(d, "/etc/redis/berth.conf");
    CHECK(has(conf.content, "bind 127.0.0.1 -::1\n"));
    CHECK(has(conf.content, "protected-mode yes"));
    CHECK(has(conf.content, "requirepass @@berth-secret:db_cache_password@@"));
    CHECK(has(conf.content, "maxmemory-policy allkeys-lru"));
    CHECK(conf.sensitive == Sensitive::yes);
    CHECK(conf.mode == "0640");
    CHECK(find(d, "command:grep -qx 'include /etc/redis/berth.conf' /etc/redis/redis.conf"));
    CHECK(d.firewall.empty());
    CHECK(env_value(m, "REDIS_URL") ==
          "redis://:@@berth-secret:db_cache_password@@@127.0.0.1:6379/0");
  }
  SECTION("the app on another host") {
    const auto d = databases_of(two_hosts(manifest::Engine::redis));
    CHECK(has(file(d, "/etc/redis/berth.conf").content, "bind 127.0.0.1 -::1 198.18.0.3\n"));
    REQUIRE(d.firewall.size() == 1);
    CHECK(d.firewall[0].port == 6379);
  }
}

TEST_CASE("mongodb: the vendor's repository, auth, an admin and the app's user") {
  const auto m = with(manifest::Engine::mongodb, "docs");
  const auto d = databases_of(m);
  SECTION("the key and the repository come before the package") {
    const auto* key = find(d, "command:/usr/share/keyrings/mongodb-server-7.0.gpg");
    REQUIRE(key);
    CHECK(key->stage == Stage::packages);
    CHECK(
        has(std::get<Command>(key->spec).run, "https://www.mongodb.org/static/pgp/server-7.0.asc"));
    CHECK(has(std::get<Command>(key->spec).run, "gpg --batch --yes --dearmor"));
    const auto* list = find(d, "file:/etc/apt/sources.list.d/mongodb-org-7.0.list");
    REQUIRE(list);
    CHECK(list->stage == Stage::packages);
    CHECK(has(std::get<File>(list->spec).content,
              "deb [ signed-by=/usr/share/keyrings/mongodb-server-7.0.gpg ] "
              "https://repo.mongodb.org/apt/debian "
              "bookworm/mongodb-org/7.0 main"));
    const auto* package = find(d, "package:mongodb-org");
    REQUIRE(package);
    CHECK(package->stage > Stage::packages);
    CHECK(find(d, "package:gnupg")->stage == Stage::packages);
  }
  SECTION("auth enabled, bound to localhost") {
    const auto& conf = file(d, "/etc/mongod.conf");
    CHECK(has(conf.content, "  authorization: enabled"));
    CHECK(has(conf.content, "  bindIp: 127.0.0.1\n"));
    CHECK(find(d, "file:/etc/mongod.conf")->notify ==
          std::vector<std::string>{"restart:mongod.service"});
    CHECK(find(d, "unit:mongod.service"));
  }
  SECTION("users created once, passwords through stdin") {
    const auto cmds = commands(d);
    REQUIRE(cmds.size() == 3);  // the key, the admin, the app's user
    CHECK(has(cmds[1]->run, "createUser({user: \"berth-admin\", pwd: \"%s\", roles: [\"root\"]})"));
    CHECK(has(cmds[1]->run, "| mongosh --quiet --norc"));
    CHECK(has(cmds[2]->run, "db.getSiblingDB(\"shop\").createUser({user: \"shop\", pwd: \"%s\""));
    CHECK(has(cmds[2]->unless, "db.getSiblingDB(\"shop\").auth(\"shop\""));
    CHECK(d.secrets.size() == 2);
    const auto& tools = file(d, "/etc/berth/shop/secrets/db_docs_tools.yaml");
    CHECK(tools.mode == "0600");
    CHECK(tools.content.find("password: @@berth-secret:mongodb_admin_password@@") !=
          std::string::npos);
    CHECK(env_value(m, "MONGODB_URL") ==
          "mongodb://shop:@@berth-secret:db_docs_password@@@127.0.0.1:27017/shop?authSource=shop");
  }
  SECTION("the app on another host") {
    const auto two = databases_of(two_hosts(manifest::Engine::mongodb));
    CHECK(has(file(two, "/etc/mongod.conf").content, "bindIp: 127.0.0.1,198.18.0.3"));
    REQUIRE(two.firewall.size() == 1);
    CHECK(two.firewall[0].port == 27017);
  }
}

TEST_CASE("backups: a script, a root-only folder and a persistent timer per database") {
  auto m = with(manifest::Engine::postgresql, "pg");
  m.databases[0].backups = {.enabled = true, .schedule = "30 3 * * *", .keep_days = 14};
  const auto d = databases_of(m);
  SECTION("the timer runs the service on the schedule, catching up after downtime") {
    const auto& timer = file(d, "/etc/systemd/system/shop-db-pg-backup.timer");
    CHECK(has(timer.content, "OnCalendar=*-*-* 03:30:00\n"));
    CHECK(has(timer.content, "Persistent=true\n"));
    CHECK(has(timer.content, "WantedBy=timers.target"));
    const auto* unit = find(d, "unit:shop-db-pg-backup.timer");
    REQUIRE(unit);
    CHECK(std::get<Unit>(unit->spec).enabled);
    CHECK(std::get<Unit>(unit->spec).active);
    const auto& service = file(d, "/etc/systemd/system/shop-db-pg-backup.service");
    CHECK(has(service.content, "ExecStart=/usr/local/lib/berth/shop/db-pg backup\n"));
    CHECK(has(service.content, "Type=oneshot"));
    CHECK(has(service.content, "After=postgresql.service"));
  }
  SECTION("the dumps' folders are root-only") {
    for (const auto* path :
         {"/var/backups/berth", "/var/backups/berth/shop", "/var/backups/berth/shop/pg"}) {
      const auto* dir = find(d, "directory:" + std::string(path));
      REQUIRE(dir);
      CHECK(std::get<Directory>(dir->spec).mode == "0700");
    }
  }
  SECTION("the script dumps with pg_dump -Fc, restores with pg_restore --clean, keeps 14 days") {
    const auto& script = file(d, "/usr/local/lib/berth/shop/db-pg");
    CHECK(script.mode == "0750");
    CHECK(script.validate == "sh -n {}");
    CHECK(has(script.content, "umask 077"));
    CHECK(has(script.content, "runuser -u postgres -- pg_dump -Fc shop >\"$1\""));
    CHECK(has(script.content, "pg_restore --clean --if-exists"));
    CHECK(has(script.content, "keep_days=14\n"));
    CHECK(has(script.content, "-mmin +$((keep_days * 1440))"));
    CHECK_FALSE(has(script.content, "mysqldump"));
  }
  SECTION("disabled: nothing") {
    m.databases[0].backups.enabled = false;
    const auto off = databases_of(m);
    CHECK_FALSE(find(off, "unit:shop-db-pg-backup.timer"));
    CHECK_FALSE(find(off, "file:/usr/local/lib/berth/shop/db-pg"));
  }
}

TEST_CASE("backups: each engine's script is valid sh with its own dump and load") {
  const auto [engine, key, dump, load] =
      GENERATE(std::make_tuple(manifest::Engine::postgresql, "pg", "pg_dump -Fc", "pg_restore"),
               std::make_tuple(manifest::Engine::mysql, "maria", "mysqldump --single-transaction",
                               "| mysql shop"),
               std::make_tuple(manifest::Engine::redis, "cache", "BGSAVE",
                               "systemctl stop redis-server.service"),
               std::make_tuple(manifest::Engine::mongodb, "docs", "mongodump", "mongorestore"));
  const auto m = with(engine, key);
  const auto d = databases_of(m);
  const auto& script = file(d, "/usr/local/lib/berth/shop/db-" + std::string(key));
  CHECK(has(script.content, dump));
  CHECK(has(script.content, load));
  const auto checked = run_process({"sh", "-n"}, {.stdin_text = script.content});
  REQUIRE(checked);
  CHECK(checked->exit_code == 0);
  CHECK(checked->err.empty());
}
