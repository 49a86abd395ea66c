// berth deploy: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_deploy(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "deploy", "Build, ship and switch to a new release with zero downtime");
}

}  // namespace berth::cli
