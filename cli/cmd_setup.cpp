// berth setup: provision the selected hosts so that they match the manifest.
#include <cli/cli.hpp>
#include <cli/playbook_command.hpp>

#include <memory>

namespace berth::cli {

void add_setup(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "setup",
      "Provision the selected hosts to match the manifest (the `setup` playbook): packages, "
      "app user and layout, env file, systemd units, nginx, jobs, databases. One probe per "
      "host, then one script per stage that has changes; a host that is already right costs "
      "one remote command. When what the app's instances start with changed (its environment, "
      "secrets or unit), the live release then starts again on the idle color, is checked, "
      "switched to and gated, as a deploy is (the `restart` playbook, under the deploy lock; "
      "switched back when the gate fails). Prints ok/changed/failed per host (--json: every "
      "resource with its status, the remote commands used per host, and the restart).");
  auto flags = std::make_shared<ReleaseFlags>();
  add_release_flags(sub, *flags);
  sub->add_flag("--change-host-settings", flags->change_host_settings,
                "On a server other apps share: this manifest's host settings ([base] but open_ports, the server's user "
                "and port) replace theirs instead of refusing the run; change them in the other apps' manifests too "
                "(docs/operations.md, \"Several apps on one server\")");
  on_run(sub, cli, [&cli, flags](Ui& ui) {
    return run_playbook_command(cli.global, ui, "setup", converge::Mode::apply, DetailedExitCode::no,
                                flags.get());
  });
}

}  // namespace berth::cli
