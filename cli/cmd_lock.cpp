// berth lock status | release: who holds the deploy lock on each app and proxy host.
#include <cli/cli.hpp>
#include <cli/hosts.hpp>
#include <core/deploy/scripts.hpp>
#include <core/manifest/load.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>

namespace berth::cli {
namespace {

int run_lock(const GlobalOptions& global, Ui& ui, bool release) {
  const auto manifest = manifest::load_or_throw(global.file, global.env);
  // A deploy locks the proxy servers too: their upstreams switch.
  auto hosts = open_release_hosts(global, manifest, ui);
  std::vector<std::optional<deploy::LockInfo>> held(hosts.servers.size());
  const auto results = hosts.fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
    const auto ran = remote.run_script(deploy::lock_status_script(manifest));
    if (auto done = script_ok(remote, "reading the lock", ran); !done) return done;
    const auto info = deploy::parse_lock_info(ran->records);
    if (!info.token.empty()) held[i] = info;
    if (release) return script_ok(remote, "releasing the lock", remote.run_script(deploy::lock_release_script(manifest, {})));
    return {};
  });
  print_host_errors(ui, results);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  nlohmann::json json = nlohmann::json::array();
  for (std::size_t i = 0; i < held.size(); ++i) {
    const auto& name = hosts.servers[i]->name;
    if (results[i].error) {
      json.push_back({{"host", name}, {"error", results[i].error->what()}});
      continue;
    }
    if (!held[i]) {
      ui.out(fmt::format("{}: unlocked", name));
      json.push_back({{"host", name}, {"locked", false}});
      continue;
    }
    const auto& l = *held[i];
    const bool expired = l.expired(now);
    ui.out(fmt::format("{}: {} by {} (pid {}, `berth {}`, started {} s ago, heartbeat {} s ago{}{})", name,
                       release ? "released, was held" : "locked", l.owner, l.pid, l.command,
                       now - l.started, now - l.heartbeat, expired ? ", expired" : "",
                       l.dead ? ", dead: its run's connection to this host is gone" : ""));
    json.push_back({{"host", name}, {"locked", !release}, {"released", release}, {"owner", l.owner},
                    {"pid", l.pid}, {"command", l.command}, {"started", l.started},
                    {"heartbeat", l.heartbeat}, {"ttl", l.ttl}, {"expired", expired},
                    {"dead", l.dead}});
  }
  if (ui.json()) ui.emit_json({{"hosts", json}});
  return static_cast<int>(exit_status(results));
}

}  // namespace

void add_lock(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand("lock", "Show or release the deploy lock on each app and proxy host");
  sub->require_subcommand(1);
  auto* status = sub->add_subcommand(
      "status", "Who holds the deploy lock, since when, and whether it expired or is dead (its run's "
                "connection to the host is gone)");
  on_run(status, cli, [&cli](Ui& ui) { return run_lock(cli.global, ui, false); });
  auto* release = sub->add_subcommand(
      "release", "Remove the deploy lock (for a run that is stuck but still connected: a dead lock is "
                 "taken over by the next deploy and released by setup)");
  on_run(release, cli, [&cli](Ui& ui) { return run_lock(cli.global, ui, true); });
}

}  // namespace berth::cli
