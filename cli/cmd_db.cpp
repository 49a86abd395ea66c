// berth db: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_db(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "db", "Back up or restore a database");
}

}  // namespace berth::cli
