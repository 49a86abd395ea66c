// berth setup: provision the selected hosts so that they match the manifest.
#include <cli/cli.hpp>
#include <cli/playbook_command.hpp>

namespace berth::cli {

void add_setup(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "setup",
      "Provision the selected hosts to match the manifest (the `setup` playbook): packages, "
      "app user and layout, env file, systemd units, nginx, jobs, databases. One probe per "
      "host, then one script per stage that has changes; a host that is already right costs "
      "one remote command. Prints ok/changed/failed per host (--json: every resource with its "
      "status, and the remote commands used per host).");
  on_run(sub, cli, [&cli](Ui& ui) {
    return run_playbook_command(cli.global, ui, "setup", converge::Mode::apply);
  });
}

}  // namespace berth::cli
