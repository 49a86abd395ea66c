// berth check: validate the manifest offline and list every problem at once.
#include <cli/cli.hpp>
#include <core/exit_code.hpp>
#include <core/manifest/load.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace berth::cli {

namespace {

std::string plural(std::size_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

nlohmann::json to_json(const manifest::Diagnostic& d) {
  return {{"file", d.where.file},
          {"line", d.where.line},
          {"column", d.where.column},
          {"severity", d.severity == manifest::Severity::error ? "error" : "warning"},
          {"message", d.message}};
}

}  // namespace

void add_check(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "check",
      "Validate the manifest offline (no server, no secret needed): TOML syntax, unknown keys, "
      "types, required keys, references between sections, schedules, ports, duplicate names, "
      "health conditions. Prints every problem as file:line:col; with -e NAME checks "
      "berth.NAME.toml merged over the manifest. Exit 0 when valid, 1 when not.");
  sub->footer(
      "--json prints {\"valid\": bool, \"diagnostics\": [{\"file\", \"line\", \"column\", "
      "\"severity\", \"message\"}], \"summary\": {...}}.");
  on_run(sub, cli, [&cli](Ui& ui) {
    // Load and validate: every diagnostic, errors and warnings, in file order.
    const auto result = manifest::load(cli.global.file, cli.global.env);
    std::size_t errors = 0;
    for (const auto& d : result.diagnostics) errors += d.severity == manifest::Severity::error;
    const std::size_t warnings = result.diagnostics.size() - errors;

    // Report.
    if (ui.json()) {
      auto document = nlohmann::json{{"valid", result.ok()},
                                     {"diagnostics", nlohmann::json::array()}};
      for (const auto& d : result.diagnostics) document["diagnostics"].push_back(to_json(d));
      if (const auto& m = result.manifest) {
        document["summary"] = {{"app", m->app.name},
                               {"servers", m->servers.size()},
                               {"databases", m->databases.size()},
                               {"jobs", m->jobs.size()},
                               {"health_checks", m->health.size()}};
      }
      ui.emit_json(document);
    } else {
      for (const auto& d : result.diagnostics) {
        const bool is_error = d.severity == manifest::Severity::error;
        const auto kind = is_error ? ui.red("error") : ui.yellow("warning");
        const auto place = d.where.line == 0
                               ? d.where.file
                               : fmt::format("{}:{}:{}", d.where.file, d.where.line, d.where.column);
        ui.out(fmt::format("{}: {}: {}", ui.bold(place), kind, d.message));
      }
      if (const auto& m = result.manifest) {
        ui.out(fmt::format("{} {} is valid: app {}, {}, {}, {}, {}{}", ui.green("ok"),
                           cli.global.file, m->app.name, plural(m->servers.size(), "server"),
                           plural(m->databases.size(), "database"), plural(m->jobs.size(), "job"),
                           plural(m->health.size(), "health check"),
                           warnings ? fmt::format(" ({})", plural(warnings, "warning")) : ""));
      } else {
        ui.out(fmt::format("{} is invalid: {}{}", cli.global.file, plural(errors, "error"),
                           warnings ? fmt::format(", {}", plural(warnings, "warning")) : ""));
      }
    }
    return static_cast<int>(result.ok() ? ExitCode::ok : ExitCode::failure);
  });
}

}  // namespace berth::cli
