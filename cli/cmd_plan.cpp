// berth plan: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_plan(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "plan", "Show what setup would change on each host");
}

}  // namespace berth::cli
