#pragma once

// The databases component, shared by its per-engine files and by `berth db`: where each
// database lives, who may reach it, and where its backups and backup script are.

#include <provisioners/provisioner.hpp>

#include <kainjow/mustache.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace berth::provisioners::database {

// The engine's name as written in the manifest: "postgresql", "mysql", "redis", "mongodb".
const char* engine_name(manifest::Engine engine);

// The database conventions of the server layout (core/layout/layout.hpp).
using layout::backup_dir;
using layout::backup_script;
using layout::backup_unit;
using layout::password_secret;

// Who reaches the databases of server `s`: the addresses the engine listens on
// (127.0.0.1 always; the server's own address too when an app server is another
// host) and the app servers' addresses allowed in (empty when the app is local).
struct Placement {
  std::vector<std::string> listen;  // "127.0.0.1"[, the db server's address]
  std::vector<std::string> peers;   // app servers' addresses when any app server is remote
  std::vector<std::string> remote;  // the peers other than `s` itself (firewall rules)
};
Placement placement(const manifest::Manifest& m, const manifest::Server& s);

// The template data an engine's config starts with: `app`, and `listen`, the listen
// addresses joined by commas.
kainjow::mustache::data listen_data(const manifest::Manifest& m, const Placement& place);

// Opens `port` in this host's firewall to each remote app server (place.remote).
void open_to_apps(const Placement& place, int port, manifest::Engine engine, Desired& out);

// `address` as a host-only network for pg_hba and MySQL: 1.2.3.4/32, ::1/128, or a
// DNS name as it is.
std::string host_cidr(std::string_view address);

// Throws berth::Error (at the database's manifest location) unless `value` (its `name`
// or `user`) is 1..63 letters, digits, `_` or `-`: names go into SQL and shell quoted,
// and these characters need no escaping in any engine.
void check_identifier(const manifest::Database& db, std::string_view what, std::string_view value);

// The engines, each adding its resources (and secrets, firewall rules) to `out`.
void add_postgresql(const manifest::Manifest& m, const manifest::Server& s,
                    const manifest::Database& db, Desired& out);
void add_mysql(const manifest::Manifest& m, const manifest::Server& s, const manifest::Database& db,
               Desired& out);
void add_redis(const manifest::Manifest& m, const manifest::Server& s, const manifest::Database& db,
               Desired& out);
void add_mongodb(const manifest::Manifest& m, const manifest::Server& s,
                 const manifest::Database& db, Desired& out);

// Backups of `db` (when backups.enabled): the backup script, its folder, and a systemd
// service + timer (OnCalendar = backups.schedule, Persistent=true) that run it.
void add_backups(const manifest::Manifest& m, const manifest::Server& s, const manifest::Database& db,
                 Desired& out);


// MongoDB's administrator (created through the localhost exception, then used to
// create the apps' users and by the backup script); one per server, its password the
// generated secret mongodb_admin_password.
inline constexpr const char* mongodb_admin = "berth-admin";
inline constexpr const char* mongodb_admin_secret = "mongodb_admin_password";
// The 0600 YAML file that gives mongodump/mongorestore the admin password (--config).
std::string mongodb_tools_config(const manifest::Manifest& m, const manifest::Database& db);

}  // namespace berth::provisioners::database
