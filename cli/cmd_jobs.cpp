// berth jobs: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_jobs(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "jobs", "List scheduled jobs or run one now");
}

}  // namespace berth::cli
