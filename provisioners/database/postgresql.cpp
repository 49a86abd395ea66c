// PostgreSQL from Debian's packages: listening on 127.0.0.1 (and the private address
// when app servers are other hosts), scram-sha-256 only, pg_hba letting in the app
// servers alone; a role with a generated password and a database it owns.
#include <core/db/replication.hpp>
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

// Streaming replication on a member (the primary or a replica): the firewall open to
// the other members, the replication role's password in a passfile, and on the primary
// the role and a slot per replica; on a replica its standby conf and, once, the clone.
void add_replication(const manifest::Manifest& m, const manifest::Server& s, const std::string& version,
                     const std::vector<const manifest::Server*>& members, Desired& out) {
  for (const auto* member : members) {
    if (member->name == s.name) continue;
    out.firewall.push_back({5432, "tcp", member->internal_address(),
                            fmt::format("postgresql replication with {}", member->name)});
  }
  out.secrets.push_back({layout::replication_secret, secret_path(m, layout::replication_secret), 24});
  add_once(out, make(File{.path = layout::replication_passfile,
                          .content = fmt::format("*:5432:*:{}:{}\n", layout::replication_role,
                                                 secret_placeholder(layout::replication_secret)),
                          .owner = "postgres",
                          .group = "postgres",
                          .mode = "0600",
                          .sensitive = Sensitive::yes},
                     "postgresql"));
  expect_primary(m, out);
  if (m.is_replica(s.name)) {
    const db::Upstream up{version, members.front()->internal_address(), s.name};
    add_once(out, make(File{.path = db::standby_conf(version),
                            .content = db::standby_conf_content(up),
                            .validate = validation("SELECT sourcefile || ':' || sourceline || ': ' || error "
                                                   "FROM pg_file_settings WHERE error IS NOT NULL "
                                                   "AND error <> 'setting could not be applied'")},
                       "postgresql", {"reload:postgresql.service"}));
    auto clone = make(Command{.name = "postgresql-replica",
                              .run = db::clone_script(up),
                              .creates = db::replica_marker(version)},
                      "postgresql");
    clone.stage = Stage::data;
    add_once(out, std::move(clone));
    return;
  }
  const auto secret = secret_path(m, layout::replication_secret);
  // pg_rewind reads the source's files through these functions; the role gets nothing else.
  add_once(out, make(Command{.name = "postgresql-replication-role",
                             .run = fmt::format(
                                 "cd / && pw=$(cat {0}) && printf \"CREATE ROLE {1} REPLICATION LOGIN PASSWORD "
                                 "'%s';\\nGRANT EXECUTE ON function pg_catalog.pg_ls_dir(text, boolean, boolean) "
                                 "TO {1};\\nGRANT EXECUTE ON function pg_catalog.pg_stat_file(text, boolean) TO "
                                 "{1};\\nGRANT EXECUTE ON function pg_catalog.pg_read_binary_file(text) TO "
                                 "{1};\\nGRANT EXECUTE ON function pg_catalog.pg_read_binary_file(text, bigint, "
                                 "bigint, boolean) TO {1};\\n\" \"$pw\" | {2}",
                                 secret, layout::replication_role, psql),
                             .unless = fmt::format("cd / && {} -c \"SELECT 1 FROM pg_roles WHERE rolname='{}'\" "
                                                   "| grep -qx 1",
                                                   psql, layout::replication_role),
                             .sensitive = Sensitive::yes},
                     "postgresql"));
  for (const auto* member : members) {
    if (member->name == s.name) continue;
    const auto slot = layout::replication_slot(member->name);
    add_once(out, make(Command{.name = "postgresql-slot:" + slot,
                               .run = fmt::format("cd / && {} -c \"SELECT pg_create_physical_replication_slot('{}', "
                                                  "true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots "
                                                  "WHERE slot_name = '{}')\" >/dev/null",
                                                  psql, slot, slot),
                               .unless = fmt::format("cd / && {} -c \"SELECT 1 FROM pg_replication_slots WHERE "
                                                     "slot_name='{}'\" | grep -qx 1",
                                                     psql, slot)},
                       "postgresql"));
  }
}

// conf.d/berth.conf's settings, for a cluster made before its conf.d exists.
constexpr std::string_view initial_settings = "/etc/berth/postgresql.conf";

// The cluster's settings and pg_hba.conf, rendered once for every PostgreSQL database.
void add_server(const manifest::Manifest& m, const manifest::Server& s,
                const manifest::Database& db, Desired& out) {
  const auto version = db.version.empty() ? out.release.postgresql : db.version;
  const auto conf_dir = db::conf_dir(version);
  auto place = placement(m, s);
  const auto replicas = m.postgresql_replicas();
  const auto* primary = database_server(m);
  // The primary and its replicas reach each other on their internal addresses.
  std::vector<const manifest::Server*> members;
  if (!replicas.empty() && primary != nullptr) {
    members.push_back(primary);
    for (const auto& name : replicas) {
      if (const auto* r = m.find_server(name)) members.push_back(r);
    }
    if (place.listen.size() == 1) place.listen.push_back(s.internal_address());
    // Every server of the set lets every app server in on its internal address: the
    // read URL names a replica's address, also from an app server on that very host.
    if (place.peers.empty()) {
      for (const auto& other : m.servers) {
        if (other.has_role("app")) place.peers.push_back(other.internal_address());
      }
    }
  }
  add_once(out, make(Package{db.version.empty() ? "postgresql" : "postgresql-" + db.version},
                     "postgresql"));

  auto conf = listen_data(m, place);
  conf.set("replication", !members.empty());
  const auto settings = render_template(m.dir, "database/postgresql.conf.mustache", conf);
  // The same settings for a cluster the package makes as it installs, before conf.d
  // exists: its postgresql.conf includes them (createcluster.d), so it starts listening
  // where it should, and the first setup reloads it instead of restarting it (2.5 s).
  // An include, not the settings themselves: pg_createcluster writes a value such as
  // 127.0.0.1 unquoted, which PostgreSQL then cannot read.
  for (auto file : {File{.path = std::string(initial_settings), .content = settings},
                    File{.path = "/etc/postgresql-common/createcluster.d/berth.conf",
                         .content = fmt::format("# Managed by berth: a cluster made on this server reads berth's "
                                                "settings from its first start.\nadd_include_if_exists = '{}'\n",
                                                initial_settings)}}) {
    auto before = make(std::move(file), "postgresql");
    before.stage = Stage::packages;
    before.before_packages = true;
    add_once(out, std::move(before));
  }
  add_once(
      out,
      make(File{.path = conf_dir + "/conf.d/berth.conf",
                .content = settings,
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
  // Every member lets every member in, as the replication role: the same file on each,
  // in name order, so a switchover changes none (pg_rewind and the replicas' checks log in to postgres).
  kainjow::mustache::data hba_members{kainjow::mustache::data::type::list};
  auto by_name = members;
  std::sort(by_name.begin(), by_name.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
  for (const auto* member : by_name) {
    kainjow::mustache::data entry;
    entry.set("role", layout::replication_role);
    entry.set("cidr", host_cidr(member->internal_address()));
    hba_members.push_back(entry);
  }
  hba.set("members", hba_members);
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
  // A changed setting that PostgreSQL can take without a restart is reloaded: the apps'
  // connections stay (a comment, or another app's setup writing what this one wrote).
  // Only what pg_file_settings says needs a restart (listen_addresses, wal_level) restarts.
  out.handler_scripts["restart:postgresql.service"] = fmt::format(
      "systemctl is-active -q postgresql.service || return 0\n"
      "pending=$(cd / && {} -c \"SELECT 1 FROM pg_file_settings WHERE error = 'setting could not be applied' "
      "LIMIT 1\" 2>/dev/null) || pending=1\n"
      "if [ -n \"$pending\" ]; then systemctl restart postgresql.service; "
      "else systemctl reload postgresql.service; fi\n",
      psql);
  open_to_apps(place, 5432, manifest::Engine::postgresql, out);
  if (!members.empty()) add_replication(m, s, version, members, out);
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
  // A replica gets the roles and databases from its primary.
  if (m.is_replica(s.name)) return;
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
