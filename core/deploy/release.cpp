#include <core/deploy/release.hpp>
#include <core/util/process.hpp>
#include <core/util/semver.hpp>
#include <core/util/text.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

namespace berth::deploy {

std::string make_release_id(const std::filesystem::path& dir,
                            std::chrono::system_clock::time_point now) {
  // Milliseconds too: two deploys in one second (a fast deploy, a script) must not
  // ship into one folder, the live release's.
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(now);
  auto id = fmt::format("{:%Y%m%dT%H%M%S}.{:03}Z", std::chrono::floor<std::chrono::seconds>(ms),
                        (ms.time_since_epoch() % std::chrono::seconds(1)).count());
  ProcessOptions options;
  options.cwd = dir;
  const auto sha = run_process({"git", "rev-parse", "--short", "HEAD"}, options);
  if (sha && sha->ok()) {
    auto text = sha->out;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (!text.empty()) id += "-" + text;
  }
  return id;
}

std::filesystem::path build_dir(const manifest::Manifest& m) {
  return (m.dir / m.app.build.dir).lexically_normal();
}

void run_build(const manifest::Manifest& m, const std::function<void(std::string_view)>& line) {
  if (m.app.build.command.empty()) return;
  ProcessOptions options;
  options.cwd = build_dir(m);
  const auto result = run_process_streaming(
      {"/bin/sh", "-c", m.app.build.command},
      [&](OutputStream, std::string_view text) { line(text); }, options);
  if (!result) throw result.error();
  if (!result->ok()) {
    throw Error(fmt::format("build: `{}` in {} exited with status {}\n{}", m.app.build.command,
                            options.cwd.string(), result->exit_code, result->tail(15)),
                ExitCode::failure, "fix the build, then run berth deploy again; nothing was shipped");
  }
}

void pack_release(const manifest::Manifest& m, const std::filesystem::path& tarball) {
  std::vector<std::string> argv{"tar", "--create", "--file", tarball.string(),
                                "--exclude=.git", "--exclude=.berth"};
  for (const auto& pattern : m.app.build.ignore) argv.push_back("--exclude=" + pattern);
  argv.insert(argv.end(), {"--directory", build_dir(m).string(), "."});
  const auto result = run_process(argv);
  if (!result) throw result.error();
  if (!result->ok()) {
    throw Error(fmt::format("packing the release failed: {}\n{}", describe_command(argv),
                            result->tail(10)));
  }
}

std::optional<std::string> engines_node(const std::filesystem::path& dir) {
  std::ifstream in(dir / "package.json");
  if (!in) return std::nullopt;
  const auto json = nlohmann::json::parse(in, nullptr, false);
  if (!json.is_object()) return std::nullopt;
  const auto engines = json.find("engines");
  if (engines == json.end() || !engines->is_object()) return std::nullopt;
  const auto node = engines->find("node");
  if (node == engines->end() || !node->is_string()) return std::nullopt;
  return node->get<std::string>();
}

std::optional<std::string> node_engines_warning(std::string_view host, std::string_view version,
                                                std::string_view range, std::string_view configured) {
  if (util::satisfies_range(version, range) != false) return std::nullopt;
  // Whether NodeSource's current release of `major` would do.
  const auto fits = [&](std::string_view major) {
    return util::satisfies_range(fmt::format("{}.999.999", major), range) == true;
  };
  const auto problem = fmt::format("{} runs Node.js {}, which package.json's engines.node \"{}\" does not allow",
                                   host, util::trim(version), range);
  if (!configured.empty() && fits(configured)) {
    return fmt::format("{}: [app.run] node = \"{}\" installs Node.js {} there once `berth setup` runs",
                       problem, configured, configured);
  }
  const auto& majors = manifest::nodesource_majors();
  const auto newest = std::find_if(majors.rbegin(), majors.rend(), [&](const std::string& m) { return fits(m); });
  if (newest != majors.rend()) {
    return fmt::format("{}: set node = \"{}\" in [app.run] (Node.js {} from NodeSource, docs/manifest.md), then "
                       "run `berth setup`",
                       problem, *newest, *newest);
  }
  std::string offered;
  for (const auto& m : majors) offered += (offered.empty() ? "" : ", ") + m;
  return fmt::format("{}, and neither does a major [app.run] node installs from NodeSource ({}): change "
                     "engines.node",
                     problem, offered);
}

std::string migrate_command(const std::string& migrate) {
  // The tools the release brings (the build installed them; a server has no npx:
  // Debian's nodejs comes without npm). alembic is the release's virtualenv's.
  if (migrate == "prisma") return "node_modules/.bin/prisma migrate deploy";
  if (migrate == "sequelize") return "node_modules/.bin/sequelize-cli db:migrate";
  if (migrate == "drizzle") return "node_modules/.bin/drizzle-kit migrate";
  if (migrate == "knex") return "node_modules/.bin/knex migrate:latest";
  if (migrate == "alembic") return "alembic upgrade head";
  return migrate;
}

}  // namespace berth::deploy
