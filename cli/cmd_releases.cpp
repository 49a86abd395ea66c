// berth releases: each app host's releases, newest first, the current one marked.
#include <cli/cli.hpp>
#include <cli/hosts.hpp>
#include <core/deploy/deploy.hpp>
#include <core/manifest/load.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace berth::cli {

void add_releases(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "releases",
      "List the releases on each app host, newest first; `*` marks the current one. Exit 1 when a "
      "host's releases could not be read, 5 when a host is unreachable.");
  on_run(sub, cli, [&cli](Ui& ui) {
    const auto manifest = manifest::load_or_throw(cli.global.file, cli.global.env);
    auto hosts = open_app_hosts(cli.global, manifest, ui);
    const auto list = deploy::list_releases(manifest, hosts.fleet);
    int status = 0;
    nlohmann::json json = nlohmann::json::array();
    for (const auto& h : list) {
      if (!h.error.empty()) {
        ui.error(util::about(h.host, h.error), h.hint);
        if (status != 5) status = static_cast<int>(h.unreachable ? ExitCode::unreachable : ExitCode::failure);
      }
      json.push_back({{"host", h.host}, {"current", h.current}, {"live_color", h.live},
                      {"releases", h.releases}, {"served", h.served}, {"error", h.error}});
      if (ui.json() || !h.error.empty()) continue;
      ui.out(ui.bold(fmt::format("{} ({} ports live)", h.host, h.live)));
      if (h.releases.empty()) ui.out("  no releases yet: run berth deploy");
      for (const auto& r : h.releases) {
        const bool served = std::find(h.served.begin(), h.served.end(), r) != h.served.end();
        ui.out(fmt::format("  {} {}{}", r == h.current ? "*" : " ", r,
                           served ? "" : ui.dim("  (never live: failed its checks)")));
      }
    }
    if (ui.json()) ui.emit_json({{"hosts", json}});
    return status;
  });
}

}  // namespace berth::cli
