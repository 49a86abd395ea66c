// berth init: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_init(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "init", "Write a commented starter berth.toml");
}

}  // namespace berth::cli
