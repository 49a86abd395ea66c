// berth version: the binary's version, and the libraries it was built with.
#include <cli/cli.hpp>

#include <curl/curl.h>
#include <fmt/format.h>
#include <libssh/libssh.h>
#include <nlohmann/json.hpp>

namespace berth::cli {

void add_version(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand("version", "Print berth's version and its libraries'");
  on_run(sub, cli, [](Ui& ui) {
    const auto* curl = curl_version_info(CURLVERSION_NOW);
    if (ui.json()) {
      ui.emit_json({{"berth", BERTH_VERSION},
                    {"libssh", ssh_version(0)},
                    {"libcurl", curl->version}});
    } else {
      ui.out(fmt::format("berth {} (libssh {}, libcurl {})", BERTH_VERSION, ssh_version(0),
                         curl->version));
    }
    return 0;
  });
}

}  // namespace berth::cli
