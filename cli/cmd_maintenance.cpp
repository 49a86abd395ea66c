// berth maintenance on [--message TEXT] | off | status: the maintenance page of the
// proxy servers (core/maintenance.hpp).
#include <cli/cli.hpp>
#include <cli/hosts.hpp>
#include <core/maintenance.hpp>
#include <core/manifest/load.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace berth::cli {
namespace {

enum class Action { on, off, status };

int run_maintenance(const GlobalOptions& global, Ui& ui, Action action, const std::string& message) {
  const auto manifest = manifest::load_or_throw(global.file, global.env);
  if (!manifest.proxy) {
    throw Error(fmt::format("{} has no [proxy]: maintenance mode is nginx's page in front of the app", global.file),
                ExitCode::usage, "add a [proxy] section and run berth setup");
  }
  auto selection = global;
  if (selection.roles.empty()) selection.roles = {"proxy"};
  auto hosts = open_hosts(selection, manifest, ui);
  const auto script = action == Action::on    ? maintenance::on_script(manifest, message)
                      : action == Action::off ? maintenance::off_script(manifest)
                                              : maintenance::status_script(manifest);
  const char* what = action == Action::on    ? "turning maintenance on"
                     : action == Action::off ? "turning maintenance off"
                                             : "reading maintenance";
  std::vector<std::string> state(hosts.servers.size());
  const auto results = hosts.fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
    const auto ran = remote.run_script(script);
    if (auto done = script_ok(remote, what, ran); !done) return done;
    for (const auto& r : ran->records) {
      if (r.subject == "maintenance" && r.field == "state") state[i] = r.value;
    }
    return {};
  });
  print_host_errors(ui, results);
  nlohmann::json json = nlohmann::json::array();
  for (std::size_t i = 0; i < state.size(); ++i) {
    const auto& name = hosts.servers[i]->name;
    if (results[i].error) {
      json.push_back({{"host", name}, {"error", results[i].error->what()}});
      continue;
    }
    ui.out(fmt::format("{}: maintenance {}{}", name, state[i],
                       state[i] == "on" ? ": visitors get 503 with Retry-After, berth's checks reach the app" : ""));
    json.push_back({{"host", name}, {"maintenance", state[i] == "on"}});
  }
  if (ui.json()) ui.emit_json({{"hosts", json}});
  return static_cast<int>(exit_status(results));
}

}  // namespace

void add_maintenance(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "maintenance",
      "Show visitors a maintenance page (503 with Retry-After) on the proxy servers, or stop");
  sub->require_subcommand(1);
  auto message = std::make_shared<std::string>();
  auto* on = sub->add_subcommand(
      "on", "Answer every visitor with the maintenance page; berth's own checks (deploy's gate, "
            "health) still reach the app, so deploys work. Run again to change the message.");
  on->add_option("--message", *message, "The text of the page (default: a short notice)");
  on_run(on, cli, [&cli, message](Ui& ui) { return run_maintenance(cli.global, ui, Action::on, *message); });
  auto* off = sub->add_subcommand("off", "Serve the app to visitors again");
  on_run(off, cli, [&cli](Ui& ui) { return run_maintenance(cli.global, ui, Action::off, {}); });
  auto* status = sub->add_subcommand("status", "Whether each proxy server is in maintenance");
  on_run(status, cli, [&cli](Ui& ui) { return run_maintenance(cli.global, ui, Action::status, {}); });
  sub->footer("Servers: those with role proxy (or --hosts/--role). Exit status: 0 done, 1 a server failed, "
              "5 a server could not be reached.");
}

}  // namespace berth::cli
