// berth db promote NAME --to SERVER and berth db rejoin NAME SERVER: a switchover of
// PostgreSQL's primary, and an old primary (or a broken replica) back as a replica
// (docs/databases.md, "Switchover"). The db servers' part is core/db/switchover; the app
// servers then converge to the manifest as the switch leaves it (the `app` playbook), so
// their URLs change through the gated blue/green restart that setup uses.
#include <cli/db.hpp>
#include <cli/hosts.hpp>
#include <cli/playbook_command.hpp>
#include <core/db/switchover.hpp>
#include <core/deploy/scripts.hpp>
#include <core/error.hpp>
#include <core/layout/layout.hpp>
#include <core/manifest/load.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

namespace berth::cli {
namespace {

struct ReplicaFlags {
  std::string name;
  std::string to;                    // promote: the replica to promote; rejoin: the server to bring back
  bool old_primary_lost = false;
};

// [databases.NAME], which must be PostgreSQL with replicas.
const manifest::Database& replicated(const manifest::Manifest& m, const std::string& name) {
  const auto& db = find_database(m, name);
  if (db.engine != manifest::Engine::postgresql || db.replicas.empty()) {
    throw Error(fmt::format("[databases.{}] has no replicas", db.key), ExitCode::usage,
                "promote and rejoin switch a PostgreSQL primary and its replicas (`replicas = [\"SERVER\"]`)");
  }
  return db;
}

// The db servers of the primary and its replicas, and every app server: one connection
// each for the whole command.
struct SwitchHosts {
  Selection selection;
  std::map<std::string, std::size_t> index;  // server name -> index in the selection
  std::vector<std::size_t> all;
  std::vector<std::string> apps;             // the app servers' names
};

SwitchHosts open_switch_hosts(const GlobalOptions& global, const manifest::Manifest& m, Ui& ui) {
  auto selection = global;
  selection.hosts.clear();
  selection.roles.clear();
  std::vector<std::string> apps;
  for (const auto& s : m.servers) {
    if (s.has_role("app")) apps.push_back(s.name);
    if (s.has_role("app") || s.has_role("db")) selection.hosts.push_back(s.name);
  }
  SwitchHosts out{open_hosts(selection, m, ui), {}, {}, std::move(apps)};
  for (std::size_t i = 0; i < out.selection.servers.size(); ++i) {
    out.index[out.selection.servers[i]->name] = i;
    out.all.push_back(i);
  }
  return out;
}

// Refuses (exit 4) while a release run holds the deploy lock on an app server: once the
// primary moved, the app's restart needs that lock. Nothing has changed yet then.
void refuse_while_locked(SwitchHosts& hosts, const manifest::Manifest& m) {
  std::vector<std::string> holders(hosts.selection.servers.size());
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  hosts.selection.fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
    if (!hosts.selection.servers[i]->has_role("app")) return {};
    const auto ran = remote.run_script(deploy::lock_status_script(m));
    if (!ran || ran->exit_status != 0) return {};  // unreachable hosts are the promote's to judge
    const auto l = deploy::parse_lock_info(ran->records);
    if (!l.token.empty() && !l.dead && !l.expired(now)) {
      holders[i] = fmt::format("{}: `berth {}` by {} (pid {})", remote.name(), l.command, l.owner, l.pid);
    }
    return {};
  });
  std::string held;
  for (const auto& h : holders) held += h.empty() ? "" : (held.empty() ? "" : "; ") + h;
  if (!held.empty()) {
    throw Error(fmt::format("the deploy lock is held ({}): the app's restart after the switch needs it; nothing "
                            "was changed",
                            held),
                ExitCode::lock_held, "run the promote again when that run is over (`berth lock status`)");
  }
}

db::Member member(const SwitchHosts& hosts, const manifest::Manifest& m, const std::string& name) {
  return {hosts.index.at(name), name, m.find_server(name)->internal_address()};
}

// The manifest with `primary` as the PostgreSQL primary: where it named `primary` among
// the replicas, it names the manifest's primary instead (what the user's berth.toml
// says once it follows the switch).
manifest::Manifest with_primary(const manifest::Manifest& m, const std::string& primary) {
  auto out = m;
  const auto* named = layout::database_server(m);
  if (named == nullptr || named->name == primary) return out;
  for (auto& db : out.databases) {
    std::replace(db.replicas.begin(), db.replicas.end(), primary, named->name);
  }
  return out;
}

// What the manifest's `replicas` must say with `primary` as the primary.
std::string replicas_line(const manifest::Manifest& m, const manifest::Database& db, const std::string& primary) {
  const auto after = with_primary(m, primary);
  std::string list;
  for (const auto& d : after.databases) {
    if (d.key != db.key) continue;
    for (const auto& r : d.replicas) list += fmt::format("{}\"{}\"", list.empty() ? "" : ", ", r);
  }
  return fmt::format("[databases.{}] replicas = [{}]", db.key, list);
}

// What the app servers' converge did.
struct AppsConverged {
  int status = 0;
  nlohmann::json json;               // its document, in --json mode
  // When the restarted instances took the traffic: the end of the restart's `switch`
  // step (the end of the run without one).
  std::chrono::steady_clock::time_point switched;
};

// Converges the app servers to `after` (the `app` playbook: the app component alone,
// so a db server that is an app server too is left as the switchover made it): their
// DATABASE_URL and replica URL change, and the live release starts again gated on
// health.
AppsConverged converge_apps(const GlobalOptions& global, Ui& ui, const manifest::Manifest& after,
                            const std::vector<std::string>& apps) {
  AppsConverged out;
  if (apps.empty()) {
    out.switched = std::chrono::steady_clock::now();
    return out;
  }
  auto only = global;
  only.hosts = apps;
  only.roles.clear();
  ui.progress(fmt::format("app servers ({}): pointing the app at the new primary", fmt::join(apps, ", ")));
  if (ui.json()) ui.capture_json(&out.json);
  std::optional<ReleaseReport> restart;
  out.status = run_playbook_command(only, ui, after, "app", converge::Mode::apply, DetailedExitCode::no, nullptr,
                                    &restart);
  ui.capture_json(nullptr);
  out.switched = std::chrono::steady_clock::now();
  if (!restart) return out;
  // The steps after the (last batch's) switch, gate and finalize's drain, took nothing
  // from the writes.
  const auto& steps = restart->result.steps;
  const auto sw = std::find_if(steps.rbegin(), steps.rend(), [](const auto& s) { return s.name.starts_with("switch"); });
  for (auto it = steps.rbegin(); it != sw && sw != steps.rend(); ++it) out.switched -= it->elapsed;
  return out;
}

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 1000.0;
}

// berth db promote NAME --to SERVER
int run_promote(const GlobalOptions& global, Ui& ui, const ReplicaFlags& flags) {
  // Load the manifest: the database, its primary and the replica to promote.
  const auto m = manifest::load_or_throw(global.file, global.env);
  const auto& database = replicated(m, flags.name);
  const auto* old = layout::database_server(m);
  if (std::find(database.replicas.begin(), database.replicas.end(), flags.to) == database.replicas.end()) {
    throw Error(fmt::format("--to {}: not a replica of [databases.{}] ({})", flags.to, database.key,
                            fmt::join(database.replicas, ", ")),
                ExitCode::usage, fmt::format("the manifest names {} the primary", old->name));
  }

  // Connect the db and app servers; fence, promote, record (core/db/switchover).
  auto hosts = open_switch_hosts(global, m, ui);
  refuse_while_locked(hosts, m);
  db::Promotion p{.version = database.version,
                  .old_primary = member(hosts, m, old->name),
                  .target = member(hosts, m, flags.to),
                  .others = {},
                  .record_on = hosts.all,
                  .record_path = layout::primary_record(m),
                  .old_primary_lost = flags.old_primary_lost};
  for (const auto& name : m.postgresql_replicas()) {
    if (name != flags.to) p.others.push_back(member(hosts, m, name));
  }
  const auto promoted = db::promote(hosts.selection.fleet, p, [&ui](std::string_view line) { ui.progress(line); });
  for (const auto& w : promoted.warnings) ui.warn(w);

  // The app servers use the new primary, and read from it until a replica streams again.
  auto after = with_primary(m, flags.to);
  after.out_of_service = {old->name};
  const auto apps = converge_apps(global, ui, after, hosts.apps);
  const auto app_status = apps.status;

  // Report: the write-unavailable window, and what the user does next.
  const auto promoted_after = seconds(promoted.promoted - promoted.writes_stopped);
  const auto apps_after = seconds(apps.switched - promoted.writes_stopped);
  const auto next = replicas_line(m, database, flags.to);
  if (ui.json()) {
    ui.emit_json({{"database", database.key},
                  {"ok", app_status == 0},
                  {"primary", flags.to},
                  {"old_primary", old->name},
                  {"fenced", promoted.fenced},
                  {"fenced_lsn", promoted.fenced_lsn},
                  {"promoted_after_seconds", promoted_after},
                  {"app_after_seconds", apps_after},
                  {"manifest", next},
                  {"warnings", promoted.warnings},
                  {"app", apps.json}});
    return app_status;
  }
  ui.out(ui.bold(fmt::format("{} is the PostgreSQL primary now{}.", flags.to,
                             promoted.fenced_lsn.empty()
                                 ? std::string(" (promoted without fencing; what the old primary had not sent is lost)")
                                 : fmt::format(" (it replayed {}'s last WAL, {}, first)", old->name,
                                               promoted.fenced_lsn))));
  ui.out(fmt::format("Writes: {} stopped taking them at 0 s; {} took them from {:.1f} s; the app's restarted "
                     "instances use {} from {:.1f} s (the write-unavailable window).",
                     old->name, flags.to, promoted_after, flags.to, apps_after));
  if (app_status != 0) {
    ui.error(fmt::format("the app servers do not use {} yet (above): set {} in {} and run `berth run app`", flags.to,
                         next, m.path.filename().string()));
  }
  ui.out(fmt::format("Next: in {}, set {} ({} is the primary now; setup refuses the old list), then `berth db "
                     "rejoin {} {}` to bring {} back as a replica.",
                     m.path.filename().string(), next, flags.to, database.key, old->name, old->name));
  return app_status;
}

// berth db rejoin NAME SERVER
int run_rejoin(const GlobalOptions& global, Ui& ui, const ReplicaFlags& flags) {
  // Load the manifest: the database and the server to bring back.
  const auto m = manifest::load_or_throw(global.file, global.env);
  const auto& database = replicated(m, flags.name);
  const auto* primary = layout::database_server(m);
  std::vector<std::string> members{primary->name};
  for (const auto& name : m.postgresql_replicas()) members.push_back(name);
  if (std::find(members.begin(), members.end(), flags.to) == members.end()) {
    throw Error(fmt::format("{} is neither the primary of [databases.{}] nor one of its replicas", flags.to,
                            database.key),
                ExitCode::usage, fmt::format("its servers: {}", fmt::join(members, ", ")));
  }

  // Connect; find the running primary, rewind (or copy) the server from it, record it.
  auto hosts = open_switch_hosts(global, m, ui);
  db::Rejoin r{.version = database.version,
               .member = member(hosts, m, flags.to),
               .candidates = {},
               .record_on = hosts.all,
               .record_path = layout::primary_record(m)};
  for (const auto& name : members) {
    if (name != flags.to) r.candidates.push_back(member(hosts, m, name));
  }
  const auto rejoined = db::rejoin(hosts.selection.fleet, r, [&ui](std::string_view line) { ui.progress(line); });
  for (const auto& w : rejoined.warnings) ui.warn(w);

  // The app servers read from the replicas again.
  const auto apps = converge_apps(global, ui, with_primary(m, rejoined.primary.name), hosts.apps);
  const auto app_status = apps.status;
  const bool outdated = rejoined.primary.name != primary->name;
  const auto next = replicas_line(m, database, rejoined.primary.name);
  if (ui.json()) {
    ui.emit_json({{"database", database.key},
                  {"ok", app_status == 0},
                  {"replica", flags.to},
                  {"primary", rejoined.primary.name},
                  {"method", rejoined.method},
                  {"manifest", outdated ? nlohmann::json(next) : nlohmann::json()},
                  {"warnings", rejoined.warnings},
                  {"app", apps.json}});
    return app_status;
  }
  ui.out(ui.bold(fmt::format("{} streams from {} ({}).", flags.to, rejoined.primary.name,
                             rejoined.method == "rewind" ? "rewound with pg_rewind" : "a fresh copy by pg_basebackup")));
  if (outdated) {
    ui.out(fmt::format("The manifest still names {} the primary: set {} in {}.", primary->name, next,
                       m.path.filename().string()));
  }
  return app_status;
}

}  // namespace

void add_db_replicas(CLI::App* db, Cli& cli) {
  auto flags = std::make_shared<ReplicaFlags>();
  auto* promote = db->add_subcommand(
      "promote", "Make a PostgreSQL replica the primary: fence the old one, promote, restart the app on it");
  promote->add_option("name", flags->name, "The database ([databases.NAME], PostgreSQL with replicas)")->required();
  promote->add_option("--to", flags->to, "The replica to promote (one of the database's `replicas`)")->required();
  promote->add_flag("--old-primary-lost", flags->old_primary_lost,
                    "Promote although the old primary cannot be reached or was not shut down cleanly (what it "
                    "had not sent to the replica is lost)");
  promote->footer(
      "Stops PostgreSQL on the primary the manifest names (the fence: it comes back read-only), waits until\n"
      "the replica replayed its last WAL, promotes the replica (pg_promote), points the other replicas at it,\n"
      "records it on every db and app server, then converges the app servers: DATABASE_URL names the new\n"
      "primary and the live release starts again on the idle color, gated on health. Prints how long\n"
      "writes were unavailable. Then set `replicas` in berth.toml as it says (setup refuses the old list)\n"
      "and run `berth db rejoin NAME OLD` to bring the old primary back as a replica. No automatic\n"
      "failover: docs/databases.md says why. Exit status: 0, 1 when a step failed (the error says what\n"
      "state it left), 4 when a deploy holds the lock (nothing changed), 5 when a host could not be\n"
      "reached, 64 for a usage error.\n");
  on_run(promote, cli, [&cli, flags](Ui& ui) { return run_promote(cli.global, ui, *flags); });

  auto* rejoin = db->add_subcommand(
      "rejoin", "Bring a server back as a PostgreSQL replica of the running primary (pg_rewind, or a fresh copy)");
  rejoin->add_option("name", flags->name, "The database ([databases.NAME], PostgreSQL with replicas)")->required();
  rejoin->add_option("server", flags->to, "The server to bring back: an old primary, or a broken replica")
      ->required();
  rejoin->footer(
      "Finds the running primary among the database's servers, stops PostgreSQL on SERVER, makes its slot\n"
      "on the primary, rewinds it with pg_rewind (or, when that cannot work, copies the primary afresh with\n"
      "pg_basebackup, the old data kept aside until the copy streams), and starts it as a replica. Refuses\n"
      "a SERVER whose PostgreSQL accepts writes. The app servers then read from the replicas again.\n"
      "Exit status: 0, 1 when a step failed, 5 when a host could not be reached, 64 for a usage error.\n");
  on_run(rejoin, cli, [&cli, flags](Ui& ui) { return run_rejoin(cli.global, ui, *flags); });
}

}  // namespace berth::cli
