#pragma once

// Server-side health checks: built-in checks derived from the manifest for every
// component berth provisioned on a host (app instances, nginx, databases, job timers,
// listening ports, disk, memory, load, certificates), observed by ONE generated POSIX
// sh script per host (like the converge probe) and judged with the same Gatus-style
// conditions as the manifest's [[health]] checks. docs/health.md lists every check,
// its placeholders and its thresholds.
//
// The script reports in framed records (util/frame.hpp, through Remote::run_script),
// as the converge probe does: nothing else on the server's stdout passes for one.

#include <core/health/check.hpp>
#include <core/manifest/manifest.hpp>
#include <core/remote.hpp>

#include <chrono>
#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::health {

// The kinds of built-in checks. Each has one entry in server.cpp's table that holds
// together its name, the script lines that observe it and how it is judged.
enum class ServerCheckKind { unit, app, direct, timer, database, replication, offsite, verified, ports, disk, memory, load };
// The kind's name in reports and for --only: "unit", "app", "timer", "database", ...
std::string_view kind_name(ServerCheckKind kind);

// One built-in check of one host, before anything is observed.
struct ServerCheck {
  std::string
      name;  // "unit:nginx", "app:1", "timer:reminders", "backup:main", "ports", "disk:/", ...
  ServerCheckKind kind = ServerCheckKind::unit;
  // What it looks at: a unit, a timer's unit without suffix (APP-job-NAME,
  // APP-db-KEY-backup), a path, a database key.
  // direct: the URL path asked of the instance.
  std::string subject;
  std::vector<Condition> conditions;
  int instance = 0;  // app, direct: 1-based instance of the live color
  manifest::Engine engine = manifest::Engine::postgresql;  // database
  std::string db_name;                                     // database: the database the app uses
  std::string db_user;                                     // database: the app's role / user
  std::string secret_file;  // database: the 0600 file with the app's password
  std::string journal;      // unit whose journal a failure shows (may hold a glob)
  // replication: the other servers of the PostgreSQL primary and its replicas, which
  // must stream from this one when it is the primary.
  std::vector<std::string> peers;
  // offsite, verified: the record the backup script keeps of the last off-host copy
  // ("EPOCH SNAPSHOT BYTES") or verification ("EPOCH SNAPSHOT ok|failed DETAIL").
  std::string record;
};

// The built-in checks of one host and what its script needs to know.
struct ServerPlan {
  std::string host;             // the server's name
  std::string app;              // the app's name
  std::vector<int> blue_ports;  // app role: the instances' ports of each color
  std::vector<int> green_ports;
  std::string read_live_color;  // app role: sh lines setting $live (layout::read_live_color)
  std::vector<int> ports;     // ports that must listen besides the app's (80, 443, 5432...)
  bool certificates = false;  // look for the certificates nginx serves
  std::vector<Condition> certificate_conditions;  // what each of them must meet
  std::vector<ServerCheck> checks;
};

// The placeholders of server-side checks (names without brackets): ACTIVE_STATE,
// SUB_STATE, RESTARTS, RESULT, EXIT_STATUS, LAST_TRIGGER, MISSING_PORTS, DISK_USED,
// MEMORY_AVAILABLE, LOAD_PER_CORE, MISSING_REPLICAS, REPLICA_LAG_BYTES,
// REPLICA_LAG_SECONDS, SLOT_RETAINED_BYTES, BACKUP_AGE_HOURS, VERIFY_RESULT, VERIFY_AGE_HOURS.
// CONNECTED and CERTIFICATE_EXPIRATION are shared
// with http/tcp checks.
std::span<const std::string> server_placeholders();

// The built-in checks of `server` from the manifest, by its roles: app instances
// (app role; on an app server behind proxies of other hosts, each [[health]] http
// check of a relative URL too, asked of each live instance from the server itself:
// "direct:NAME:N"), nginx and its certificates (proxy role, with [proxy]), each database's
// unit, connection and backup timer (db role; with PostgreSQL replicas, "replication" on
// the primary and each replica; with [backups], "offsite:KEY" for the newest off-host
// copy, and "verified:KEY" on the primary for the last verification), each job's timer
// where it is enabled,
// ports, disk, memory and load (every host). Only the checks `only` names (see
// matches_only) when it is not empty. Never throws.
ServerPlan plan_server_checks(const manifest::Manifest& manifest, const manifest::Server& server,
                              const std::vector<std::string>& only = {});

// The script that observes everything `plan` needs: read-only POSIX sh, run as root,
// one exec. Secrets are read from their files on the server, never put in the script.
std::string render_server_script(const ServerPlan& plan);

// What the script reported: subject -> field -> value.
struct ServerFacts {
  std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>> records;

  // The value of subject/field, or empty when it was not reported.
  const std::string& get(std::string_view subject, std::string_view field) const;
  bool has(std::string_view subject, std::string_view field) const;
};

// Reads the script's records. Fails when the end marker is missing (`ended` false):
// the script did not run to its end.
std::expected<ServerFacts, std::string> parse_server_output(const std::vector<util::Record>& records,
                                                         bool ended);

// Judges every check of `plan` against `facts`, in plan order, followed by one check
// per certificate nginx serves ("cert:FILE"). `duration` is the script's wall time.
std::vector<CheckResult> judge_server(const ServerPlan& plan, const ServerFacts& facts,
                                      std::chrono::milliseconds duration = {});

// Runs the plan's script on `remote` and judges it. When the transport fails or the
// output is broken, returns one failed check "server" naming the host, the exit status
// and the stderr tail. Never throws.
std::vector<CheckResult> run_server_checks(Remote& remote, const ServerPlan& plan);

// A failed "server" check for a host that could not be probed (unreachable...).
CheckResult server_unreachable(std::string host, std::string why);

}  // namespace berth::health
