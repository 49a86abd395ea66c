// berth releases: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_releases(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "releases", "List the releases on each host");
}

}  // namespace berth::cli
