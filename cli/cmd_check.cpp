// berth check: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_check(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "check", "Validate the manifest offline");
}

}  // namespace berth::cli
