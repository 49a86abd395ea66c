// berth init: write a commented starter manifest, never over an existing file.
#include <cli/cli.hpp>
#include <core/error.hpp>
#include <core/manifest/presets.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace berth::cli {

void add_init(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "init",
      "Write a commented starter berth.toml in the current folder (or at -f PATH). Refuses to "
      "overwrite an existing file (exit 1).");
  auto preset = std::make_shared<std::string>("minimal");
  std::vector<std::string> names;
  std::string described;
  for (const auto& p : manifest::presets()) {
    names.emplace_back(p.name);
    described += fmt::format("\n  {:<14} {}", p.name, p.description);
  }
  sub->add_option("--preset", *preset, "The starting point (default minimal)")
      ->check(CLI::IsMember(names));
  sub->footer("Presets:" + described);
  on_run(sub, cli, [&cli, preset](Ui& ui) {
    const auto& path = cli.global.file;
    const auto chosen = manifest::find_preset(*preset);
    // "wx" creates the file and fails when it exists, with no window for a race.
    std::FILE* file = std::fopen(path.c_str(), "wx");
    if (file == nullptr && errno == EEXIST) {
      throw Error(fmt::format("{} already exists; berth init does not overwrite it", path),
                  ExitCode::failure, "remove it first, or pass -f OTHER.toml");
    }
    if (file == nullptr) {
      throw Error(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
    }
    const bool written = std::fwrite(chosen->text.data(), 1, chosen->text.size(), file) ==
                         chosen->text.size();
    if (std::fclose(file) != 0 || !written) {
      throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    }
    if (ui.json()) {
      ui.emit_json({{"written", path}, {"preset", *preset}});
    } else {
      ui.out(fmt::format("wrote {} (preset {})", path, *preset));
      ui.out("next: edit the addresses and names, then run `berth check`; keep .berth/ out of git");
    }
    return 0;
  });
}

}  // namespace berth::cli
