// berth setup: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_setup(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "setup", "Provision the servers: base, databases, app, proxy, jobs");
}

}  // namespace berth::cli
