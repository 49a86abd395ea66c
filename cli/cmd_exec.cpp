// berth exec: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_exec(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "exec", "Run a shell command on the selected hosts");
}

}  // namespace berth::cli
