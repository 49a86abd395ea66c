// berth schema: the manifest's JSON Schema, for editors (Taplo, VS Code).
#include <cli/cli.hpp>
#include <core/error.hpp>
#include <core/manifest/schema.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace berth::cli {

void add_schema(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "schema",
      "Print the JSON Schema (draft-07) of berth.toml on stdout, for editor completion and "
      "checking (Taplo, VS Code \"Even Better TOML\"). Needs no manifest.");
  auto output = std::make_shared<std::string>();
  sub->add_option("-o,--output", *output, "Write the schema to this file instead of stdout");
  sub->footer(
      "Taplo: add `#:schema ./berth.schema.json` as the first line of berth.toml after "
      "`berth schema -o berth.schema.json`.");
  on_run(sub, cli, [output](Ui& ui) {
    const auto schema = manifest::to_json_schema(manifest::manifest_schema());
    if (output->empty()) {
      ui.emit_json(schema);
      return 0;
    }
    std::ofstream out(*output);
    out << schema.dump(2) << '\n';
    if (!out.flush()) throw Error(fmt::format("cannot write {}", *output));
    ui.progress(fmt::format("wrote {}", *output));
    return 0;
  });
}

}  // namespace berth::cli
