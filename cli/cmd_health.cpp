// berth health: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_health(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "health", "Check the servers and the app");
}

}  // namespace berth::cli
