// Commands whose issue is not done yet are listed so that `berth --help` shows the
// whole tool; they exit 3 saying so instead of pretending to work.
#include <cli/cli.hpp>
#include <core/exit_code.hpp>

#include <fmt/format.h>

namespace berth::cli {

void add_pending(CLI::App& app, Cli& cli, const char* name, const char* what) {
  auto* sub = app.add_subcommand(name, fmt::format("{} (not implemented yet)", what));
  sub->allow_extras();
  on_run(sub, cli, [name](Ui& ui) {
    ui.error(fmt::format("`berth {}` is not implemented yet", name));
    return static_cast<int>(ExitCode::not_implemented);
  });
}

}  // namespace berth::cli
