// berth destroy [--purge-data] [--yes]: this app leaves its servers, the other apps
// there keep serving (core/destroy.hpp).
#include <cli/cli.hpp>
#include <cli/hosts.hpp>
#include <core/destroy.hpp>
#include <core/manifest/load.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>

namespace berth::cli {
namespace {

struct Removed {
  std::vector<std::string> removed, kept, dropped;
};

void add_once(std::vector<std::string>& list, std::string item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
}

std::string joined(const std::vector<std::string>& items, std::size_t at_most = 6) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < at_most; ++i)
    out += (i ? ", " : "") + items[i];
  if (items.size() > at_most) out += fmt::format(" and {} more", items.size() - at_most);
  return out;
}

int run_destroy(const GlobalOptions& global, Ui& ui, destroy::Purge purge, bool yes) {
  // Load the manifest, connect, and read the app's claim on each server.
  const auto m = manifest::load_or_throw(global.file, global.env);
  auto hosts = open_hosts(global, m, ui);
  const auto n = hosts.servers.size();
  std::vector<std::optional<layout::Claim>> claims(n);
  std::vector<bool> locked(n, false);
  const auto read =
      hosts.fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
        const auto ran = remote.run_script(destroy::read_script(m));
        if (auto done = script_ok(remote, "reading the app's claim", ran); !done) return done;
        for (const auto& r : ran->records) {
          if (r.subject == "claim") claims[i] = layout::parse_claim(m.app.name, r.value);
          if (r.subject == "lock") locked[i] = true;
        }
        return {};
      });
  print_host_errors(ui, read);
  if (exit_status(read) != ExitCode::ok) return static_cast<int>(exit_status(read));
  for (std::size_t i = 0; i < n; ++i) {
    if (locked[i]) {
      throw Error(fmt::format("{}: a berth run holds the lock of {} there: nothing was removed",
                              hosts.servers[i]->name, m.app.name),
                  ExitCode::lock_held,
                  "`berth lock status` says who; wait for it, or `berth lock release` a dead one");
    }
  }

  // Say what goes, and ask.
  std::vector<std::string> on;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& name = hosts.servers[i]->name;
    if (!claims[i]) {
      ui.progress(
          fmt::format("{}: {} has no claim here: destroyed already, or set up by a berth older than "
                      "claims (run `berth setup` once, then destroy)",
                      name, m.app.name));
      continue;
    }
    if (claims[i]->own.empty() && purge == destroy::Purge::no) {
      ui.progress(
          fmt::format("{}: only {}'s data is left here (its databases, backups and their secrets): "
                      "--purge-data removes it",
                      name, m.app.name));
      claims[i].reset();
      continue;
    }
    on.push_back(name);
    std::vector<std::string> units, users, databases;
    for (const auto& o : claims[i]->own) {
      if (o.kind == "unit" || (o.kind == "file" && o.name.starts_with("/etc/systemd/system/") &&
                               o.name.find(".d/") == std::string::npos)) {
        add_once(units, o.name.substr(o.name.rfind('/') + 1));
      }
      if (o.kind == "user") users.push_back(o.name);
    }
    for (const auto& d : claims[i]->databases)
      databases.push_back(destroy::database_name(d));
    ui.progress(
        fmt::format("{}: removes {} of {}'s files and folders; units {}; users {}{}", name,
                    claims[i]->own.size(), m.app.name, units.empty() ? "none" : joined(units),
                    users.empty() ? "none" : joined(users),
                    databases.empty() ? std::string()
                    : purge == destroy::Purge::yes
                        ? "; DROPS the databases " + joined(databases) + " and deletes the backups"
                        : "; keeps the databases " + joined(databases) + " and the backups"));
  }
  if (on.empty()) {
    ui.out(fmt::format("{} is on none of the selected servers: nothing to remove", m.app.name));
    if (ui.json()) ui.emit_json({{"app", m.app.name}, {"hosts", nlohmann::json::array()}});
    return 0;
  }
  const auto question =
      purge == destroy::Purge::yes
          ? fmt::format(
                "Remove {} from {} and DROP its databases and backups? This cannot be undone.",
                m.app.name, joined(on, on.size()))
          : fmt::format("Remove {} from {}? Its databases and backups stay.", m.app.name,
                        joined(on, on.size()));
  if (!yes && !confirmed(question)) {
    throw Error(fmt::format("not removing {}: not confirmed", m.app.name), ExitCode::usage,
                "answer y at the terminal, or pass --yes");
  }

  // Remove, each server in one script; the claim goes last, so a failed run can run again.
  std::vector<Removed> done(n);
  const auto results =
      hosts.fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
        if (!claims[i]) return {};
        if (ui.json() == false)
          ui.progress(fmt::format("{}: removing {}", remote.name(), m.app.name));
        const auto ran = remote.run_script(destroy::remove_script(m, *claims[i], purge));
        if (ran) {
          for (const auto& r : ran->records) {
            auto& list = r.subject == "removed" ? done[i].removed
                         : r.subject == "kept"  ? done[i].kept
                                                : done[i].dropped;
            if (r.subject == "removed" || r.subject == "kept" || r.subject == "dropped")
              add_once(list, r.field + " " + r.value);
          }
        }
        return script_ok(remote, "removing the app", ran);
      });
  print_host_errors(ui, results);
  nlohmann::json json = nlohmann::json::array();
  for (std::size_t i = 0; i < n; ++i) {
    if (!claims[i]) continue;
    const auto& name = hosts.servers[i]->name;
    json.push_back({{"host", name},
                    {"removed", done[i].removed},
                    {"kept", done[i].kept},
                    {"dropped", done[i].dropped},
                    {"ok", !results[i].error}});
    if (results[i].error) continue;
    ui.out(fmt::format("{}: {} removed ({} items){}{}", name, m.app.name, done[i].removed.size(),
                       done[i].dropped.empty() ? "" : "; dropped " + joined(done[i].dropped),
                       done[i].kept.empty() ? "" : "; kept " + joined(done[i].kept)));
  }
  if (ui.json()) ui.emit_json({{"app", m.app.name}, {"hosts", json}});
  return static_cast<int>(exit_status(results));
}

}  // namespace

void add_destroy(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "destroy",
      "Remove this app from its servers: its instances, timers, site, firewall openings, release "
      "folders "
      "and users. Other apps on the servers keep serving; shared packages and host settings stay.");
  auto purge = std::make_shared<bool>(false);
  auto yes = std::make_shared<bool>(false);
  sub->add_flag(
      "--purge-data", *purge,
      "Also drop the app's databases (PostgreSQL, MySQL; Redis is flushed) and delete its backups "
      "and the "
      "secrets that open them. Without it they stay, and a later setup finds them again.");
  sub->add_flag("--yes,-y", *yes,
                "Do not ask for confirmation (needed when stdin is not a terminal)");
  on_run(sub, cli, [&cli, purge, yes](Ui& ui) {
    return run_destroy(cli.global, ui, *purge ? destroy::Purge::yes : destroy::Purge::no, *yes);
  });
  sub->footer("Servers: every server of the manifest (or --hosts/--role). What goes is what the "
              "app's last setup "
              "recorded as its own on each server (/etc/berth/apps.d/APP.claim). Exit status: 0 "
              "removed, 1 a server "
              "failed (run again: it goes on where it stopped), 4 a deploy holds the lock, 5 a "
              "server could not be "
              "reached, 64 not confirmed.");
}

}  // namespace berth::cli
