#include <core/util/process.hpp>
#include <provisioners/database/database.hpp>
#include <provisioners/provisioner.hpp>
#include <tests/unit/desired.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace berth;
using namespace berth::converge;
using berth::test::has;
using berth::test::find;
using berth::test::file;

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

std::vector<const Command*> commands(const provisioners::Desired& d) {
  std::vector<const Command*> out;
  for (const auto& r : d.resources) {
    if (const auto* c = std::get_if<Command>(&r.spec)) out.push_back(c);
  }
  return out;
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
    // The cluster the package makes starts with the same settings: no restart after.
    for (const auto* path : {"/etc/postgresql-common/createcluster.d/berth.conf", "/etc/berth/postgresql.conf"}) {
      const auto* initial = find(d, std::string("file:") + path);
      REQUIRE(initial);
      CHECK(initial->stage == Stage::packages);
      CHECK(initial->before_packages);
      CHECK(initial->notify.empty());
    }
    CHECK(file(d, "/etc/berth/postgresql.conf").content == conf.content);
    CHECK(has(file(d, "/etc/postgresql-common/createcluster.d/berth.conf").content,
              "\nadd_include_if_exists = '/etc/berth/postgresql.conf'\n"));
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
    CHECK(has(script.content, "runuser -u postgres -- pg_dump -Fc shop\n"));
    CHECK(has(script.content, "if ! dump >\"$tmp\"; then"));
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

namespace {

// db1 the PostgreSQL primary, db2 its streaming replica, the app on "web" (servers
// in name order, as the loader leaves them).
manifest::Manifest replicated(std::vector<std::string> replicas = {"db2"}) {
  auto m = with(manifest::Engine::postgresql);
  m.servers = {{.name = "db1", .address = "198.18.0.3", .roles = {"db"}},
               {.name = "db2", .address = "198.18.0.4", .roles = {"db"}},
               {.name = "web", .address = "198.18.0.2", .roles = {"app", "proxy"}}};
  m.databases[0].replicas = std::move(replicas);
  m.databases[0].replica_env_var = "DATABASE_REPLICA_URL";
  return m;
}

bool any_command_runs(const provisioners::Desired& d, std::string_view part) {
  const auto cmds = commands(d);
  return std::any_of(cmds.begin(), cmds.end(), [&](const Command* c) { return has(c->run, part); });
}

const converge::Expectation* expectation(const provisioners::Desired& d, std::string_view path) {
  for (const auto& e : d.expectations) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

std::vector<std::string> firewall_from(const provisioners::Desired& d) {
  std::vector<std::string> out;
  for (const auto& rule : d.firewall) {
    if (rule.port == 5432 && rule.proto == "tcp") out.push_back(rule.from);
  }
  std::sort(out.begin(), out.end());
  return out;
}

constexpr std::string_view berth_conf = "/etc/postgresql/15/main/conf.d/berth.conf";
constexpr std::string_view pg_hba = "/etc/postgresql/15/main/pg_hba.conf";
constexpr std::string_view passfile = "/var/lib/postgresql/.berth-replication.pgpass";

}  // namespace

TEST_CASE("postgresql: the primary gets the replication role and a slot per replica, with the app's role") {
  const auto m = replicated();
  const auto d = databases_of(m, 0);
  const auto* role = find(d, "command:postgresql-replication-role");
  REQUIRE(role);
  const auto& role_cmd = std::get<Command>(role->spec);
  CHECK(role_cmd.sensitive == Sensitive::yes);
  // The password is read from the secret file on the server, never in the command.
  CHECK(has(role_cmd.run, "pw=$(cat /etc/berth/shop/secrets/postgresql_replication_password)"));
  CHECK(has(role_cmd.run, "CREATE ROLE berth_replication REPLICATION LOGIN PASSWORD '%s'"));
  CHECK_FALSE(has(role_cmd.run, "@@berth-secret"));
  CHECK(has(role_cmd.unless, "rolname='berth_replication'"));
  const auto* slot = find(d, "command:postgresql-slot:berth_db2");
  REQUIRE(slot);
  CHECK(has(std::get<Command>(slot->spec).run, "pg_create_physical_replication_slot('berth_db2', true)"));
  CHECK_FALSE(find(d, "command:postgresql-slot:berth_db1"));
  CHECK_FALSE(find(d, "command:postgresql-replica"));
  CHECK_FALSE(find(d, "file:/etc/postgresql/15/main/conf.d/berth-replica.conf"));
  CHECK(any_command_runs(d, "CREATE ROLE \\\"shop\\\""));
  CHECK(any_command_runs(d, "CREATE DATABASE \"shop\" OWNER \"shop\""));
  CHECK(has(file(d, berth_conf).content, "wal_log_hints = on\n"));
  CHECK(has(file(d, berth_conf).content, "listen_addresses = '127.0.0.1,198.18.0.3'\n"));
}

TEST_CASE("postgresql: a replica clones its primary once and creates no role or database") {
  auto m = replicated();
  const auto d = databases_of(m, 1);
  CHECK_FALSE(any_command_runs(d, "CREATE ROLE"));
  CHECK_FALSE(any_command_runs(d, "CREATE DATABASE"));
  CHECK_FALSE(find(d, "command:postgresql-replication-role"));
  CHECK_FALSE(find(d, "command:postgresql-slot:berth_db2"));
  const auto* clone = find(d, "command:postgresql-replica");
  REQUIRE(clone);
  CHECK(clone->stage == Stage::data);
  CHECK(std::get<Command>(clone->spec).creates == "/var/lib/postgresql/15/berth-replica");
  CHECK(has(std::get<Command>(clone->spec).run, "pg_basebackup"));
  const auto& standby = file(d, "/etc/postgresql/15/main/conf.d/berth-replica.conf");
  CHECK(has(standby.content, "host=198.18.0.3 port=5432 user=berth_replication"));
  CHECK(has(standby.content, "passfile=/var/lib/postgresql/.berth-replication.pgpass"));
  CHECK(has(standby.content, "application_name=db2'"));
  CHECK(has(standby.content, "primary_slot_name = 'berth_db2'\n"));
  CHECK(find(d, "file:/etc/postgresql/15/main/conf.d/berth-replica.conf")->notify ==
        std::vector<std::string>{"reload:postgresql.service"});
  // Its password is still the fleet's one, made on the primary.
  const auto it = std::find_if(d.secrets.begin(), d.secrets.end(),
                               [](const GeneratedSecret& s) { return s.name == "db_main_password"; });
  REQUIRE(it != d.secrets.end());
  CHECK(it->owner == "db1");

  SECTION("the primary's private address when it has one") {
    m.servers[0].private_address = "10.0.0.3";
    CHECK(has(file(databases_of(m, 1), "/etc/postgresql/15/main/conf.d/berth-replica.conf").content,
              "host=10.0.0.3 port=5432"));
  }
}

TEST_CASE("postgresql: the members' pg_hba and settings do not change with a switchover") {
  const auto m = replicated();
  const auto switched = replicated({"db1"});
  const auto db1 = databases_of(m, 0);
  const auto db2 = databases_of(m, 1);
  const auto hba = file(db1, pg_hba).content;
  CHECK(hba == file(db2, pg_hba).content);
  CHECK(hba == file(databases_of(switched, 0), pg_hba).content);
  CHECK(hba == file(databases_of(switched, 1), pg_hba).content);
  CHECK(has(hba, "host    replication  \"berth_replication\"  198.18.0.3/32  scram-sha-256\n"
                 "host    \"postgres\"   \"berth_replication\"  198.18.0.3/32  scram-sha-256\n"
                 "host    replication  \"berth_replication\"  198.18.0.4/32  scram-sha-256\n"));
  CHECK(has(hba, "host    \"shop\"  \"shop\"  198.18.0.2/32  scram-sha-256"));

  // Each server listens on its own address; the rest of the settings are the same, and
  // neither changes when the other becomes the primary.
  const auto conf1 = file(db1, berth_conf).content;
  const auto conf2 = file(db2, berth_conf).content;
  CHECK(conf1 == file(databases_of(switched, 0), berth_conf).content);
  CHECK(conf2 == file(databases_of(switched, 1), berth_conf).content);
  auto own_address = conf2;
  own_address.replace(own_address.find("198.18.0.4"), std::string("198.18.0.4").size(), "198.18.0.3");
  CHECK(conf1 == own_address);
  for (const auto* setting : {"wal_level = replica\n", "hot_standby = on\n", "wal_log_hints = on\n",
                              "max_wal_senders = 10\n", "max_replication_slots = 10\n"}) {
    CHECK(has(conf1, setting));
  }
}

// What berth rendered for two_hosts before replicas came (templates of 5eeb3a9).
constexpr std::string_view conf_before =
    "# Managed by berth: PostgreSQL settings for shop. Changes here are overwritten.\n"
    "# Only these hosts' interfaces accept connections; pg_hba.conf says who may log in.\n"
    "listen_addresses = '127.0.0.1,198.18.0.3'\n"
    "password_encryption = 'scram-sha-256'\n";
constexpr std::string_view hba_before =
    "# Managed by berth: who may connect to PostgreSQL, and how. Changes here are overwritten.\n"
    "# TYPE  DATABASE  USER  ADDRESS  METHOD\n"
    "local   all       postgres           peer\n"
    "local   all       all                peer\n"
    "host    all       all   127.0.0.1/32 scram-sha-256\n"
    "host    all       all   ::1/128      scram-sha-256\n"
    "host    \"shop\"  \"shop\"  198.18.0.2/32  scram-sha-256\n";

TEST_CASE("postgresql: without replicas nothing of replication is added") {
  const auto d = databases_of(two_hosts(manifest::Engine::postgresql));
  const auto& conf = file(d, berth_conf).content;
  CHECK(conf.substr(conf.find('\n')).starts_with(conf_before.substr(conf_before.find('\n'))));
  for (const auto* setting :
       {"wal_level", "hot_standby", "wal_log_hints", "max_wal_senders", "max_replication_slots"}) {
    CHECK_FALSE(has(conf, setting));
  }
  CHECK(file(d, pg_hba).content.starts_with(hba_before));
  CHECK_FALSE(has(file(d, pg_hba).content, "replication"));
  CHECK_FALSE(find(d, "file:" + std::string(passfile)));
  CHECK_FALSE(find(d, "command:postgresql-replication-role"));
  CHECK_FALSE(find(d, "command:postgresql-replica"));
  CHECK(d.firewall.size() == 1);
  CHECK(d.expectations.empty());
}

// kainjow keeps the newline after an empty section's closing tag, so the replication
// sections end their templates without one: a server without replicas keeps its
// settings byte for byte. Its first line no longer names the app (apps share the file),
// and the handler reloads what needs no restart: the first setup after an upgrade
// reloads PostgreSQL, never restarts it.
TEST_CASE("postgresql: without replicas conf.d/berth.conf is byte for byte what it was") {
  const auto d = databases_of(two_hosts(manifest::Engine::postgresql));
  const auto& conf = file(d, berth_conf).content;
  CHECK(conf.substr(conf.find('\n')) == std::string(conf_before.substr(conf_before.find('\n'))));
  const auto& restart = d.handler_scripts.at("restart:postgresql.service");
  CHECK(has(restart, "error = 'setting could not be applied'"));
  CHECK(has(restart, "then systemctl restart postgresql.service; else systemctl reload postgresql.service; fi"));
}

TEST_CASE("postgresql: without replicas pg_hba.conf is byte for byte what it was") {
  CHECK(file(databases_of(two_hosts(manifest::Engine::postgresql)), pg_hba).content == hba_before);
}

TEST_CASE("postgresql: every member has the replication passfile, a placeholder for its password") {
  const auto m = replicated();
  for (std::size_t server : {0, 1}) {
    const auto d = databases_of(m, server);
    INFO(m.servers[server].name);
    const auto& pass = file(d, passfile);
    CHECK(pass.mode == "0600");
    CHECK(pass.owner == "postgres");
    CHECK(pass.group == "postgres");
    CHECK(pass.sensitive == Sensitive::yes);
    CHECK(pass.content ==
          "*:5432:*:berth_replication:" + secret_placeholder("postgresql_replication_password") + "\n");
    const auto it = std::find_if(d.secrets.begin(), d.secrets.end(), [](const GeneratedSecret& s) {
      return s.name == "postgresql_replication_password";
    });
    REQUIRE(it != d.secrets.end());
    CHECK(it->path == "/etc/berth/shop/secrets/postgresql_replication_password");
    CHECK(it->owner == "db1");
  }
}

TEST_CASE("postgresql: the firewall lets the members reach each other and the app servers in") {
  const auto m = replicated();
  CHECK(firewall_from(databases_of(m, 0)) == std::vector<std::string>{"198.18.0.2", "198.18.0.4"});
  CHECK(firewall_from(databases_of(m, 1)) == std::vector<std::string>{"198.18.0.2", "198.18.0.3"});
  auto priv = m;
  priv.servers[1].private_address = "10.0.0.4";
  CHECK(firewall_from(databases_of(priv, 0)) == std::vector<std::string>{"10.0.0.4", "198.18.0.2"});
}

TEST_CASE("postgresql: every db and app server expects the primary record to name the manifest's primary") {
  const auto m = replicated();
  for (std::size_t server : {0, 1}) {
    const auto d = databases_of(m, server);
    const auto* e = expectation(d, "/etc/berth/shop/postgresql-primary");
    REQUIRE(e);
    CHECK(e->content == "db1");
    CHECK(has(e->message, "berth db promote"));
    CHECK(d.expectations.size() == 1);
  }
  manifest::SecretSources secrets(m, [](const std::string&) { return std::nullopt; });
  const auto web = provisioners::desired_state(m, m.servers[2], secrets);
  const auto* e = expectation(web, "/etc/berth/shop/postgresql-primary");
  REQUIRE(e);
  CHECK(e->content == "db1");
  CHECK(web.expectations.size() == 1);
  CHECK(expectation(databases_of(replicated({"db1"}), 0), "/etc/berth/shop/postgresql-primary")->content ==
        "db2");
  // Without replicas there is no record to expect.
  const auto plain = two_hosts(manifest::Engine::postgresql);
  manifest::SecretSources plain_secrets(plain, [](const std::string&) { return std::nullopt; });
  CHECK(provisioners::desired_state(plain, plain.servers[1], plain_secrets).expectations.empty());
}

TEST_CASE("postgresql: the app's read-only URL names the first replica in service") {
  auto m = replicated();
  CHECK(env_value(m, "DATABASE_URL") == "postgres://shop:@@berth-secret:db_main_password@@@198.18.0.3:5432/shop");
  CHECK(env_value(m, "DATABASE_REPLICA_URL") ==
        "postgres://shop:@@berth-secret:db_main_password@@@198.18.0.4:5432/shop");
  SECTION("its private address when it has one") {
    m.servers[1].private_address = "10.0.0.4";
    CHECK(env_value(m, "DATABASE_REPLICA_URL") ==
          "postgres://shop:@@berth-secret:db_main_password@@@10.0.0.4:5432/shop");
  }
  SECTION("the primary while the replica is out of service") {
    m.out_of_service = {"db2"};
    CHECK(env_value(m, "DATABASE_REPLICA_URL") ==
          "postgres://shop:@@berth-secret:db_main_password@@@198.18.0.3:5432/shop");
  }
  SECTION("no read-only URL without replica_env_var") {
    m.databases[0].replica_env_var.clear();
    const auto env = provisioners::database_env(m);
    CHECK(env.size() == 1);
  }
}

TEST_CASE("postgresql: the database server is the primary, never a replica") {
  auto m = replicated();
  REQUIRE(provisioners::database_server(m));
  CHECK(provisioners::database_server(m)->name == "db1");
  CHECK(provisioners::database_server(replicated({"db1"}))->name == "db2");
  m.databases[0].replicas.clear();
  CHECK(provisioners::database_server(m)->name == "db1");
}

TEST_CASE("postgresql: with the app on the primary's host, every server of the set lets that host in") {
  // The read URL names the replica's address; after a switchover the replica is the
  // app's own host, reached on its internal address, not on 127.0.0.1.
  auto m = replicated();
  m.servers = {{.name = "db1", .address = "198.18.0.3", .roles = {"app", "proxy", "db"}},
               {.name = "db2", .address = "198.18.0.4", .roles = {"db"}}};
  for (std::size_t server : {0, 1}) {
    const auto d = databases_of(m, server);
    CHECK(has(file(d, pg_hba).content, "host    \"shop\"  \"shop\"  198.18.0.3/32  scram-sha-256\n"));
    CHECK(has(file(d, "/etc/postgresql/15/main/conf.d/berth.conf").content, m.servers[server].address));
  }
  CHECK(file(databases_of(m, 0), pg_hba).content == file(databases_of(m, 1), pg_hba).content);
}
