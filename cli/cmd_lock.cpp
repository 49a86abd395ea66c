// berth lock: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_lock(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "lock", "Show or release the deploy lock");
}

}  // namespace berth::cli
