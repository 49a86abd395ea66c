// berth run: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_run(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "run", "Run a playbook");
}

}  // namespace berth::cli
