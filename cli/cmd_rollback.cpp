// berth rollback: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_rollback(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "rollback", "Switch back to the previous or a named release");
}

}  // namespace berth::cli
