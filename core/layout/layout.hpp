#pragma once

// Where berth keeps things on a server, and the few conventions that several parts
// must agree on: the provisioners write them, deploy and health read them. A leaf:
// it knows the manifest and nothing else of berth.

#include <core/manifest/manifest.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace berth::layout {

// Conventional places on a server.
std::string app_root(const manifest::Manifest& m);      // /srv/APP
std::string config_dir(const manifest::Manifest& m);    // /etc/berth/APP
std::string env_file(const manifest::Manifest& m);      // /etc/berth/APP/app.env
std::string secret_path(const manifest::Manifest& m, std::string_view name);

// Maintenance mode (`berth maintenance`, core/maintenance.hpp): the folder the site
// includes *.conf from and serves the page from, /etc/nginx/berth/APP/maintenance,
// and the Retry-After (seconds) its 503 answers carry.
std::string maintenance_dir(const manifest::Manifest& m);
inline constexpr int maintenance_retry_after = 300;
// berth's own checks through nginx carry the header X-Berth-Check with a token made
// once on the server; nginx lets them past the maintenance page, allowlists and basic
// auth. The token lives in an nginx map, in a root-only file (check_token_file); the
// shell lines of record_check_token record it as "state check_token TOKEN" (nothing
// when there is none), for deploy's state read and `berth health` alike.
std::string check_token_file(const manifest::Manifest& m);
inline constexpr std::string_view check_header = "X-Berth-Check";
std::string record_check_token(const manifest::Manifest& m);

// Blue/green: the app's instances run on one of two sets of ports, `instances` each:
// blue = port, port+1, ...; green = the next `instances` ports. A deploy starts the
// new release on the set that is not live and points nginx's upstream at it.
enum class Color { blue, green };
std::vector<int> app_ports(const manifest::Manifest& m, Color color = Color::blue);
const char* color_name(Color color);

// /srv/APP/instances/PORT links to the release an instance runs (its WorkingDirectory).
std::string instances_dir(const manifest::Manifest& m);
// The nginx upstream servers of this host's live color (127.0.0.1), on every app host
// when there is a proxy: the record of which color is live there, and what the site
// includes when the host is a proxy too. Written by setup once (blue) and then only
// by deploys.
std::string upstream_file(const manifest::Manifest& m);
std::string upstream_content(const std::vector<int>& ports);
// On a proxy host, one file per app server on another host: its live color's
// instances at its internal address (upstream_dir/SERVER.conf), included by the site.
// Setup makes a missing one (blue) and follows the server's address; deploys write
// them all at each switch, from the app servers' live colors.
std::string upstream_dir(const manifest::Manifest& m);
std::string upstream_fragment(const manifest::Manifest& m, const manifest::Server& app_server);
// With `backup` ports, those are listed as nginx backup servers: they get requests
// only when no other server of the upstream is available.
std::string upstream_content(const std::string& address, const std::vector<int>& ports,
                             const std::vector<int>& backup = {});
// `address` as nginx's upstream servers name it: an IPv6 address in brackets.
std::string upstream_host(const std::string& address);
// The app servers whose instances a proxy server's nginx reaches on another host.
std::vector<const manifest::Server*> remote_app_servers(const manifest::Manifest& m, const manifest::Server& proxy);
// Shell lines that set $live to blue or green: the color the upstream file points at
// (blue when there is none yet).
std::string read_live_color(const manifest::Manifest& m);
// Shell lines that set $live as read_live_color does and $units to the systemd units
// of the live color's instances (APP@PORT.service, space-separated).
std::string read_live_units(const manifest::Manifest& m);
// Shell lines that set $live and export BERTH_PORT, the port of the first instance
// that serves now: the color nginx's upstream file points at, or on a host without
// one (no proxy) the color whose first instance runs (blue when neither does). What a
// command on an app server reaches the app on, whichever color a deploy left live.
std::string export_live_port(const manifest::Manifest& m);
// Shell lines that start the live color's instances that are not running, once a
// release is live (/srv/APP/current exists): nginx sends them requests. Prints a line
// for each one started; never fails (a unit that does not start shows in health).
std::string start_stopped_live_units(const manifest::Manifest& m);

// Shell lines that reload nginx and wait (5 s at most) until every worker of the old
// configuration is shutting down or gone: `systemctl reload` returns once nginx has
// the signal, while old workers may still accept connections for a moment. After
// them, every new connection gets the new configuration. Fail (`exit`/`return`
// given as `fail`) when the reload does.
std::string nginx_reload(std::string_view fail);

// A grep pattern for the title of an nginx worker of an old configuration, finishing
// its requests after a reload; it does not match grep's own command line.
inline constexpr std::string_view nginx_shutting_down = "worker process is shutting[ ]down";

// The server that runs `run_on = "one"` jobs and other once-per-fleet work: the first
// server with the app role, by name. It also makes the app's generated secrets.
const manifest::Server* primary_app_server(const manifest::Manifest& m);
// The server that makes the databases' passwords and the one the app's URLs name: the
// first with the db role that is not a PostgreSQL replica (the primary).
const manifest::Server* database_server(const manifest::Manifest& m);

// PostgreSQL streaming replication (docs/databases.md, "Replicas"): the role the
// replicas connect as, its generated password's secret name, the file that gives it
// to libpq on every member (0600, postgres), and the physical slot the primary keeps
// for replica `server` (berth_ + the name in lower case, other characters as _).
inline constexpr const char* replication_role = "berth_replication";
inline constexpr const char* replication_secret = "postgresql_replication_password";
inline constexpr const char* replication_passfile = "/var/lib/postgresql/.berth-replication.pgpass";
using manifest::replication_slot;  // the manifest's check refuses two servers with one slot
// The record `berth db promote` leaves on the app's hosts: the name of the server it
// made the primary. setup refuses a manifest whose primary is another.
std::string primary_record(const manifest::Manifest& m);

// The PATH a process of the app runs with when its runtime needs one: for `python`,
// the release's virtualenv (RELEASE_DIR/.venv/bin, made by deploys) comes first; empty
// for node and binary (systemd's default PATH).
std::string runtime_path(const manifest::Manifest& m, std::string_view release_dir);

// The name of the generated secret holding a database's app password: db_KEY_password.
std::string password_secret(const manifest::Database& db);
// The folder holding the dumps of `db`: /var/backups/berth/APP/KEY (0700; files 0600).
std::string backup_dir(const manifest::Manifest& m, const manifest::Database& db);
// The backup script of `db`: /usr/local/lib/berth/APP/db-KEY. It takes `backup`
// (prints "@@backup PATH BYTES TIME"), `list` (one such line per dump, oldest first),
// `show FILE` and `restore FILE` (FILE: a path in backup_dir or a name there); it exits
// non-zero with a message on stderr when anything fails or FILE does not exist.
std::string backup_script(const manifest::Manifest& m, const manifest::Database& db);
// The systemd unit name (without suffix) of the backup timer and service: APP-db-KEY-backup.
std::string backup_unit(const manifest::Manifest& m, const manifest::Database& db);

// Off-host backups ([backups], docs/databases.md "Off-host backups"): restic over SFTP.
// On the backup server: the unix user the db servers log in as (backup-APP, SFTP only,
// chrooted), its chroot (root's, 0755) and the repository in it (the user's, 0700),
// as restic names it inside the chroot.
std::string offsite_user(const manifest::Manifest& m);
// Where the repository is, for people: the backup server's name, ENDPOINT/BUCKET, or
// USER@ADDRESS:PATH.
std::string offsite_target(const manifest::Manifest& m);
std::string offsite_chroot(const manifest::Manifest& m);
inline constexpr const char* offsite_repository = "/repo";
// On a db server: the folder with the SSH key, the backup server's host key and
// known_hosts (CONFIG/backup, 0700), and the restic wrapper every backup, verification
// and listing runs (/usr/local/lib/berth/APP/restic: the repository, its password and
// the SFTP command set, `restic "$@"` under a per-app flock unless the first argument is
// --no-wait).
std::string offsite_dir(const manifest::Manifest& m);
std::string restic_wrapper(const manifest::Manifest& m);
// Where the backup scripts record their last off-host copy and verification of `db`
// (/var/lib/berth/APP/backups/KEY.last, KEY.verify: "TIME SNAPSHOT BYTES" and
// "TIME SNAPSHOT ok|failed MESSAGE"), which health reads, and the folder of those records.
std::string offsite_records_dir(const manifest::Manifest& m);
std::string offsite_record(const manifest::Manifest& m, const manifest::Database& db, std::string_view what);
// The generated secrets: the repository's password (made by database_server(), kept by
// every db server and the backup server), the db servers' SSH key (made by
// database_server(); the backup server lets its public half in) and the backup server's
// host key (read from its sshd).
inline constexpr const char* offsite_password_secret = "backup_repository_password";
inline constexpr const char* offsite_key_secret = "backup_ssh_key";
inline constexpr const char* offsite_host_key_secret = "backup_host_key";
// The units: each database's verification (APP-db-KEY-verify), the repository's check
// (APP-backup-check, on database_server()), and the template unit a failed backup,
// verification or check starts (APP-job-failed@UNIT).
std::string verify_unit(const manifest::Manifest& m, const manifest::Database& db);
std::string offsite_check_unit(const manifest::Manifest& m);

}  // namespace berth::layout
