// databases: PostgreSQL and Redis from Debian's packages, private, with generated
// passwords kept on the server. MySQL/MariaDB and MongoDB land with issue 6.
#include <core/error.hpp>
#include <provisioners/provisioner.hpp>

#include <fmt/format.h>

namespace berth::provisioners {

using namespace converge;

namespace {

std::string password_secret(const manifest::Database& db) { return "db_" + db.key + "_password"; }

// Where the app reaches `db`: this machine when the db server is an app server too,
// else the db server's address.
std::string database_host(const manifest::Manifest& m) {
  const auto* app = primary_app_server(m);
  for (const auto& s : m.servers) {
    if (s.has_role("db")) return app && app->name == s.name ? "127.0.0.1" : s.address;
  }
  return "127.0.0.1";
}

void add_postgresql(const manifest::Manifest& m, const manifest::Database& db, Desired& out) {
  auto& r = out.resources;
  const auto secret = password_secret(db);
  out.secrets.push_back({secret, secret_path(m, secret), 24});
  r.push_back(make(Package{"postgresql"}, "postgresql"));
  r.push_back(make(Unit{"postgresql.service"}, "postgresql"));
  const auto psql = std::string("runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtAX");
  // The role's password is read from the secret file on the server, never sent in argv.
  r.push_back(make(
      Command{.run = fmt::format(
                  "pw=$(cat {0}) && printf \"CREATE ROLE \\\"{1}\\\" LOGIN PASSWORD '%s';\\n\" \"$pw\" | {2}",
                  secret_path(m, secret), db.user, psql),
              .unless = fmt::format("{} -c \"SELECT 1 FROM pg_roles WHERE rolname='{}'\" | grep -q 1",
                                    psql, db.user)},
      "postgresql"));
  r.push_back(make(
      Command{.run = fmt::format("{} -c 'CREATE DATABASE \"{}\" OWNER \"{}\"'", psql, db.name, db.user),
              .unless = fmt::format(
                  "{} -c \"SELECT 1 FROM pg_database WHERE datname='{}'\" | grep -q 1", psql, db.name)},
      "postgresql"));
}

void add_redis(const manifest::Manifest& m, const manifest::Database& db, Desired& out) {
  auto& r = out.resources;
  const auto secret = password_secret(db);
  out.secrets.push_back({secret, secret_path(m, secret), 24});
  r.push_back(make(Package{"redis-server"}, "redis"));
  r.push_back(make(File{.path = "/etc/redis/berth.conf",
                        .content = fmt::format("# Managed by berth.\nbind 127.0.0.1 -::1\n"
                                               "protected-mode yes\nrequirepass {}\n"
                                               "maxmemory-policy allkeys-lru\n",
                                               secret_placeholder(secret)),
                        .owner = "redis", .group = "redis", .mode = "0640",
                        .sensitive = Sensitive::yes},
                   "redis", {"restart:redis-server.service"}));
  r.push_back(make(Command{.run = "echo 'include /etc/redis/berth.conf' >> /etc/redis/redis.conf",
                           .unless = "grep -qx 'include /etc/redis/berth.conf' /etc/redis/redis.conf"},
                   "redis", {"restart:redis-server.service"}));
  r.back().stage = Stage::config;
  r.push_back(make(Unit{"redis-server.service"}, "redis"));
}

}  // namespace

void add_databases(const manifest::Manifest& m, const manifest::Server&, Desired& out) {
  for (const auto& db : m.databases) {
    switch (db.engine) {
      case manifest::Engine::postgresql: add_postgresql(m, db, out); break;
      case manifest::Engine::redis: add_redis(m, db, out); break;
      case manifest::Engine::mysql:
      case manifest::Engine::mongodb:
        throw Error(fmt::format("{}:{}:{}: databases.{}: this engine is not provisioned yet",
                                db.where.file, db.where.line, db.where.column, db.key),
                    ExitCode::not_implemented);
    }
  }
}

std::vector<std::pair<std::string, std::string>> database_env(const manifest::Manifest& m) {
  std::vector<std::pair<std::string, std::string>> env;
  const auto host = database_host(m);
  for (const auto& db : m.databases) {
    const auto pw = secret_placeholder(password_secret(db));
    switch (db.engine) {
      case manifest::Engine::postgresql:
        env.emplace_back(db.env_var, fmt::format("postgres://{}:{}@{}:5432/{}", db.user, pw, host, db.name));
        break;
      case manifest::Engine::redis:
        env.emplace_back(db.env_var, fmt::format("redis://:{}@{}:6379/0", pw, host));
        break;
      case manifest::Engine::mysql:
      case manifest::Engine::mongodb:
        break;
    }
  }
  return env;
}

}  // namespace berth::provisioners
