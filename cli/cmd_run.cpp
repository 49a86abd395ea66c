// berth run NAME: run a playbook (the project's playbooks/NAME.toml or a built-in one).
#include <cli/cli.hpp>
#include <cli/playbook_command.hpp>

#include <memory>

namespace berth::cli {

void add_run(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "run",
      "Run playbook NAME: playbooks/NAME.toml next to berth.toml, or a built-in one (setup, deploy, "
      "rollback). Steps run in order (converge components, remote commands on a role, local "
      "commands, health gates, release steps, hooks) and the run stops at the first step that "
      "fails. A playbook with release steps runs like `berth deploy`: on the app hosts, under the "
      "deploy lock, switching back when a step after start fails.");
  auto name = std::make_shared<std::string>();
  sub->add_option("NAME", *name, "The playbook to run")->required();
  auto plan_only = std::make_shared<bool>(false);
  sub->add_flag("--plan", *plan_only, "Only plan the converge steps; run nothing");
  auto flags = std::make_shared<ReleaseFlags>();
  add_release_flags(sub, *flags);
  on_run(sub, cli, [&cli, name, plan_only, flags](Ui& ui) {
    return run_playbook_command(cli.global, ui, *name,
                                *plan_only ? converge::Mode::plan : converge::Mode::apply,
                                DetailedExitCode::no, flags.get());
  });
}

}  // namespace berth::cli
