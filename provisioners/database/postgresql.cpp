// PostgreSQL from Debian's packages: listening on 127.0.0.1 (and the private address
// when app servers are other hosts), scram-sha-256 only, pg_hba letting in the app
// servers alone; a role with a generated password and a database it owns.
#include <core/render.hpp>
#include <provisioners/database/database.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace berth::provisioners::database {

using namespace converge;

namespace {

constexpr const char* psql = "runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtAX";

// A validation that fails, quoting the errors, when `query` (over PostgreSQL's view of
// its config files on disk) returns rows; passes when the server is down (the
// restart handler then reports).
std::string validation(std::string_view query) {
  return fmt::format("cd / && out=$({} -c \"{}\" 2>/dev/null) || exit 0; [ -z \"$out\" ] || {{ "
                     "echo \"$out\"; exit 1; }}",
                     psql, query);
}

// The cluster's settings and pg_hba.conf, rendered once for every PostgreSQL database.
void add_server(const manifest::Manifest& m, const manifest::Server& s,
                const manifest::Database& db, Desired& out) {
  const auto version = db.version.empty() ? out.release.postgresql : db.version;
  const auto conf_dir = fmt::format("/etc/postgresql/{}/main", version);
  const auto place = placement(m, s);
  add_once(out, make(Package{db.version.empty() ? "postgresql" : "postgresql-" + db.version},
                     "postgresql"));

  const auto conf = listen_data(m, place);
  add_once(
      out,
      make(File{.path = conf_dir + "/conf.d/berth.conf",
                .content = render_template(m.dir, "database/postgresql.conf.mustache", conf),
                // Settings that need a restart (listen_addresses) show as
                // "could not be applied" until the handler restarts the server.
                .validate = validation("SELECT sourcefile || ':' || sourceline || ': ' || error "
                                       "FROM pg_file_settings WHERE error IS NOT NULL "
                                       "AND error <> 'setting could not be applied'")},
           "postgresql", {"restart:postgresql.service"}));

  kainjow::mustache::data hba;
  kainjow::mustache::data peers{kainjow::mustache::data::type::list};
  for (const auto& other : m.databases) {
    if (other.engine != manifest::Engine::postgresql) continue;
    for (const auto& address : place.peers) {
      kainjow::mustache::data peer;
      peer.set("database", other.name);
      peer.set("user", other.user);
      peer.set("cidr", host_cidr(address));
      peers.push_back(peer);
    }
  }
  hba.set("peers", peers);
  add_once(out,
           make(File{.path = conf_dir + "/pg_hba.conf",
                     .content = render_template(m.dir, "database/pg_hba.conf.mustache", hba),
                     .owner = "postgres",
                     .group = "postgres",
                     .mode = "0640",
                     .validate = validation("SELECT 'pg_hba.conf:' || line_number || ': ' || error "
                                            "FROM pg_hba_file_rules WHERE error IS NOT NULL")},
                "postgresql", {"reload:postgresql.service"}));
  add_once(out, make(Unit{"postgresql.service"}, "postgresql"));
  open_to_apps(place, 5432, manifest::Engine::postgresql, out);
}

}  // namespace

void add_postgresql(const manifest::Manifest& m, const manifest::Server& s,
                    const manifest::Database& db, Desired& out) {
  const bool first = std::none_of(m.databases.begin(), m.databases.end(), [&](const auto& other) {
    return other.engine == manifest::Engine::postgresql && other.key < db.key;
  });
  if (first) add_server(m, s, db, out);
  auto& r = out.resources;
  const auto secret = password_secret(db);
  out.secrets.push_back({secret, secret_path(m, secret), 24});
  // The role's password is read from the secret file on the server, never sent in argv.
  r.push_back(
      make(Command{.run = fmt::format("cd / && pw=$(cat {0}) && printf \"CREATE ROLE \\\"{1}\\\" "
                                      "LOGIN PASSWORD '%s';\\n\" \"$pw\" | {2}",
                                      secret_path(m, secret), db.user, psql),
                   .unless = fmt::format(
                       "cd / && {} -c \"SELECT 1 FROM pg_roles WHERE rolname='{}'\" | grep -qx 1",
                       psql, db.user)},
           "postgresql"));
  r.push_back(make(
      Command{.run = fmt::format("cd / && {} -c 'CREATE DATABASE \"{}\" OWNER \"{}\"'", psql,
                                 db.name, db.user),
              .unless = fmt::format(
                  "cd / && {} -c \"SELECT 1 FROM pg_database WHERE datname='{}'\" | grep -qx 1",
                  psql, db.name)},
      "postgresql"));
}

}  // namespace berth::provisioners::database
