// berth version: the binary's version, and the libraries it was built with.
#include <cli/cli.hpp>
#include <core/health/http.hpp>
#include <core/ssh/session.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace berth::cli {

void add_version(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand("version", "Print berth's version and its libraries'");
  on_run(sub, cli, [](Ui& ui) {
    const auto libssh = ssh::library_version();
    const auto libcurl = health::http_library_version();
    if (ui.json()) {
      ui.emit_json({{"berth", BERTH_VERSION}, {"libssh", libssh}, {"libcurl", libcurl}});
    } else {
      ui.out(fmt::format("berth {} (libssh {}, libcurl {})", BERTH_VERSION, libssh, libcurl));
    }
    return 0;
  });
}

}  // namespace berth::cli
