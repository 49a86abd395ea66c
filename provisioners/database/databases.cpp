// databases: every [databases.*] entry on the db servers, private (localhost, or the
// private address with access for the app servers only), with generated passwords
// kept on the server, and backed up by a timer. One file per engine; this one has what
// they share and the app's connection URLs.
#include <core/error.hpp>
#include <provisioners/database/database.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace berth::provisioners {

namespace database {

const char* engine_name(manifest::Engine engine) {
  switch (engine) {
  case manifest::Engine::postgresql:
    return "postgresql";
  case manifest::Engine::mysql:
    return "mysql";
  case manifest::Engine::redis:
    return "redis";
  case manifest::Engine::mongodb:
    return "mongodb";
  }
  return "unknown";
}


Placement placement(const manifest::Manifest& m, const manifest::Server& s) {
  Placement p;
  p.listen.push_back("127.0.0.1");
  const bool any_remote = std::any_of(m.servers.begin(), m.servers.end(), [&](const auto& other) {
    return other.has_role("app") && other.name != s.name;
  });
  if (!any_remote) return p;
  p.listen.push_back(s.internal_address());
  for (const auto& other : m.servers) {
    if (!other.has_role("app")) continue;
    p.peers.push_back(other.internal_address());
    if (other.name != s.name) p.remote.push_back(other.internal_address());
  }
  return p;
}

kainjow::mustache::data listen_data(const manifest::Manifest& m, const Placement& place) {
  kainjow::mustache::data conf;
  conf.set("app", m.app.name);
  std::string listen;
  for (const auto& a : place.listen) listen += (listen.empty() ? "" : ",") + a;
  conf.set("listen", listen);
  return conf;
}

void open_to_apps(const Placement& place, int port, manifest::Engine engine, Desired& out) {
  for (const auto& address : place.remote) {
    out.firewall.push_back({port, "tcp", address, fmt::format("{} for the app at {}", engine_name(engine), address)});
  }
}

std::string host_cidr(std::string_view address) {
  const bool ipv4 = !address.empty() && std::all_of(address.begin(), address.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.';
  });
  if (ipv4) return fmt::format("{}/32", address);
  if (address.find(':') != std::string_view::npos) return fmt::format("{}/128", address);
  return std::string(address);
}

void check_identifier(const manifest::Database& db, std::string_view what, std::string_view value) {
  const bool ok =
      !value.empty() && value.size() <= 63 && std::all_of(value.begin(), value.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
      });
  if (ok) return;
  throw Error(fmt::format("{}:{}:{}: databases.{}.{} = \"{}\": use 1 to 63 letters, digits, _ or -",
                          db.where.file, db.where.line, db.where.column, db.key, what, value),
              ExitCode::failure);
}

std::string mongodb_tools_config(const manifest::Manifest& m, const manifest::Database& db) {
  return secret_path(m, "db_" + db.key + "_tools.yaml");
}

}  // namespace database

namespace {

// Where the app reaches the databases: 127.0.0.1 when every app server is the db
// server, else the (first) db server's address.
std::string database_host(const manifest::Manifest& m) {
  const auto* server = database_server(m);
  if (server == nullptr || database::placement(m, *server).peers.empty()) return "127.0.0.1";
  return server->internal_address();
}

}  // namespace


void add_databases(const manifest::Manifest& m, const manifest::Server& s, Desired& out) {
  const auto first_secret = out.secrets.size();
  for (const auto& db : m.databases) {
    database::check_identifier(db, "name", db.name);
    database::check_identifier(db, "user", db.user);
    switch (db.engine) {
    case manifest::Engine::postgresql:
      database::add_postgresql(m, s, db, out);
      break;
    case manifest::Engine::mysql:
      database::add_mysql(m, s, db, out);
      break;
    case manifest::Engine::redis:
      database::add_redis(m, s, db, out);
      break;
    case manifest::Engine::mongodb:
      database::add_mongodb(m, s, db, out);
      break;
    }
    database::add_backups(m, s, db, out);
  }
  // One password per database for the whole fleet, made on the first db server
  // (there is one: `s` has the db role).
  const auto& owner = database_server(m)->name;
  for (auto i = first_secret; i < out.secrets.size(); ++i) out.secrets[i].owner = owner;
}

std::vector<std::pair<std::string, std::string>> database_env(const manifest::Manifest& m) {
  std::vector<std::pair<std::string, std::string>> env;
  const auto host = database_host(m);
  for (const auto& db : m.databases) {
    const auto pw = secret_placeholder(database::password_secret(db));
    switch (db.engine) {
    case manifest::Engine::postgresql:
      env.emplace_back(db.env_var,
                       fmt::format("postgres://{}:{}@{}:5432/{}", db.user, pw, host, db.name));
      if (!db.replica_env_var.empty()) {
        // Read-only: the first replica in service, or the primary while there is none.
        const manifest::Server* replica = nullptr;
        for (const auto& name : db.replicas) {
          const bool out = std::find(m.out_of_service.begin(), m.out_of_service.end(), name) != m.out_of_service.end();
          if (!out && (replica = m.find_server(name)) != nullptr) break;
        }
        env.emplace_back(db.replica_env_var,
                         fmt::format("postgres://{}:{}@{}:5432/{}", db.user, pw,
                                     replica ? replica->internal_address() : host, db.name));
      }
      break;
    case manifest::Engine::mysql:
      env.emplace_back(db.env_var,
                       fmt::format("mysql://{}:{}@{}:3306/{}", db.user, pw, host, db.name));
      break;
    case manifest::Engine::redis:
      env.emplace_back(db.env_var, fmt::format("redis://:{}@{}:6379/0", pw, host));
      break;
    case manifest::Engine::mongodb:
      env.emplace_back(db.env_var, fmt::format("mongodb://{}:{}@{}:27017/{}?authSource={}", db.user,
                                               pw, host, db.name, db.name));
      break;
    }
  }
  return env;
}

void expect_primary(const manifest::Manifest& m, Desired& out) {
  const auto* primary = database_server(m);
  if (m.postgresql_replicas().empty() || primary == nullptr) return;
  const auto record = layout::primary_record(m);
  for (const auto& e : out.expectations) {
    if (e.path == record) return;
  }
  out.expectations.push_back(
      {record, primary->name,
       fmt::format("the manifest names {0} the PostgreSQL primary (the db server not in `replicas`), and `berth db "
                   "promote` made another server the primary: list {0} in `replicas` in place of that server "
                   "(docs/databases.md, \"Switchover\")",
                   primary->name)});
}

std::vector<GeneratedSecret> database_env_secrets(const manifest::Manifest& m) {
  std::vector<GeneratedSecret> secrets;
  const auto* owner = database_server(m);
  if (owner == nullptr) return secrets;
  for (const auto& db : m.databases) {
    const auto name = database::password_secret(db);
    secrets.push_back({.name = name, .path = secret_path(m, name), .length = 24, .owner = owner->name});
  }
  return secrets;
}

}  // namespace berth::provisioners
