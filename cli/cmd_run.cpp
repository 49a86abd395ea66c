// berth run [NAME]: run a playbook (the project's playbooks/NAME.toml or a built-in
// one); without NAME, list the playbooks the project can run.
#include <cli/cli.hpp>
#include <cli/playbook_command.hpp>
#include <core/playbook/playbook.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>

namespace berth::cli {
namespace {

// Every playbook of the project next to the manifest and built in: name, where
// it comes from, whether it ships releases, and its description.
int list_playbooks(const GlobalOptions& global, Ui& ui) {
  const auto dir = std::filesystem::absolute(global.file).parent_path();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& name : playbook::available_playbooks(dir)) {
    const auto book = playbook::load_playbook(dir, name);
    list.push_back({{"name", name},
                    {"origin", book.origin},
                    {"release", book.is_release()},
                    {"description", book.description},
                    {"steps", book.steps.size()}});
    if (!ui.json()) {
      ui.out(fmt::format("{:<12} {}{}", name, book.description,
                         ui.dim(fmt::format("  ({}, {} step{}{})", book.origin, book.steps.size(),
                                            book.steps.size() == 1 ? "" : "s",
                                            book.is_release() ? ", release" : ""))));
    }
  }
  if (ui.json()) ui.emit_json({{"playbooks", list}});
  return 0;
}

}  // namespace

void add_run(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "run",
      "Run playbook NAME: playbooks/NAME.toml next to berth.toml, or a built-in one (setup, deploy, "
      "rollback, restart, app); without NAME, list them. Steps run in order (converge components, remote "
      "commands on a role, local commands, health gates, release steps, hooks) and the run stops "
      "at the first step that fails. A playbook with release steps runs like `berth deploy`: on "
      "the app hosts, under the deploy lock, switching back when a step after start fails.");
  auto name = std::make_shared<std::string>();
  sub->add_option("NAME", *name, "The playbook to run (none: list the playbooks)");
  auto plan_only = std::make_shared<bool>(false);
  sub->add_flag("--plan", *plan_only, "Only plan the converge steps; run nothing");
  auto flags = std::make_shared<ReleaseFlags>();
  add_release_flags(sub, *flags);
  on_run(sub, cli, [&cli, name, plan_only, flags](Ui& ui) {
    if (name->empty()) return list_playbooks(cli.global, ui);
    return run_playbook_command(cli.global, ui, *name,
                                *plan_only ? converge::Mode::plan : converge::Mode::apply,
                                DetailedExitCode::no, flags.get());
  });
}

}  // namespace berth::cli
