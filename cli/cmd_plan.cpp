// berth plan: what setup would change on each host, with diffs; changes nothing.
#include <cli/cli.hpp>
#include <cli/playbook_command.hpp>

#include <memory>

namespace berth::cli {

void add_plan(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "plan",
      "Show what `berth setup` would create or change on each host, with unified diffs of "
      "files (secrets redacted), the work an interrupted run left owed (a reload, a restart, a "
      "config not yet validated) and the app's blue/green restart when its environment or unit "
      "changes. Reads each host with one remote command; changes nothing.");
  auto detailed = std::make_shared<bool>(false);
  sub->add_flag("--detailed-exitcode", *detailed,
                "Exit 0 when nothing would change, 2 when something would, 1 on error");
  on_run(sub, cli, [&cli, detailed](Ui& ui) {
    return run_playbook_command(cli.global, ui, "setup", converge::Mode::plan,
                                *detailed ? DetailedExitCode::yes : DetailedExitCode::no);
  });
}

}  // namespace berth::cli
