// berth logs: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_logs(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "logs", "Show the app's journal");
}

}  // namespace berth::cli
