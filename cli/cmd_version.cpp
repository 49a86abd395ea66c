// berth version (and berth --version, -V): the binary's version, and the libraries it
// was built with.
#include <cli/cli.hpp>
#include <core/health/http.hpp>
#include <core/ssh/session.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace berth::cli {
namespace {

nlohmann::json version_document() {
  return {{"berth", BERTH_VERSION},
          {"libssh", ssh::library_version()},
          {"libcurl", health::http_library_version()}};
}

std::string version_line() {
  return fmt::format("berth {} (libssh {}, libcurl {})", BERTH_VERSION, ssh::library_version(),
                     health::http_library_version());
}

}  // namespace

void add_version(CLI::App& app, Cli& cli) {
  // `berth --version` is what people try first: the same output, exit 0. CLI11 runs
  // the flag's callback after the global flags' (--json) and prints what it returns.
  app.set_version_flag(
      "-V,--version",
      [&cli] { return cli.global.json ? version_document().dump(2) : version_line(); },
      "Print berth's version and its libraries', as `berth version` does, and exit");
  auto* sub = app.add_subcommand("version", "Print berth's version and its libraries'");
  on_run(sub, cli, [](Ui& ui) {
    if (ui.json()) {
      ui.emit_json(version_document());
    } else {
      ui.out(version_line());
    }
    return 0;
  });
}

}  // namespace berth::cli
