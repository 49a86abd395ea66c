// berth schema: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_schema(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "schema", "Print the JSON Schema of the manifest");
}

}  // namespace berth::cli
