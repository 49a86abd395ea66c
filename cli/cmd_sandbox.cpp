// berth sandbox: not implemented yet (see cli/pending.cpp).
#include <cli/cli.hpp>

namespace berth::cli {

void add_sandbox(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "sandbox", "Local throwaway test hosts (systemd-nspawn)");
}

}  // namespace berth::cli
