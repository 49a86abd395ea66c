// berth run NAME: run a playbook (the project's playbooks/NAME.toml or a built-in one).
#include <cli/cli.hpp>
#include <cli/playbook_command.hpp>

#include <memory>

namespace berth::cli {

void add_run(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "run",
      "Run playbook NAME: playbooks/NAME.toml next to berth.toml, or a built-in one (setup). "
      "Steps run in order (converge components, remote commands on a role, local commands, "
      "health gates) and the run stops at the first step that fails.");
  auto name = std::make_shared<std::string>();
  sub->add_option("NAME", *name, "The playbook to run")->required();
  auto plan_only = std::make_shared<bool>(false);
  sub->add_flag("--plan", *plan_only, "Only plan the converge steps; run nothing");
  on_run(sub, cli, [&cli, name, plan_only](Ui& ui) {
    return run_playbook_command(cli.global, ui, *name,
                                *plan_only ? converge::Mode::plan : converge::Mode::apply);
  });
}

}  // namespace berth::cli
