#include <core/error.hpp>
#include <core/render.hpp>
#include <core/util/embedded.hpp>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace berth {

std::string render_template(const std::filesystem::path& project_dir, std::string_view name,
                            const kainjow::mustache::data& data) {
  std::string text;
  std::string origin;
  const auto override_path = project_dir / "templates" / name;
  if (!project_dir.empty() && std::filesystem::is_regular_file(override_path)) {
    std::ifstream in(override_path, std::ios::binary);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
    origin = override_path.string();
  } else if (const auto embedded = find_embedded("templates/" + std::string(name))) {
    text = std::string(*embedded);
    origin = "built-in templates/" + std::string(name);
  } else {
    throw Error(fmt::format("no template named '{}'", name), ExitCode::internal);
  }
  kainjow::mustache::mustache tmpl(text);
  if (!tmpl.is_valid()) {
    throw Error(fmt::format("{}: {}", origin, tmpl.error_message()));
  }
  tmpl.set_custom_escape([](const std::string& s) { return s; });
  return tmpl.render(data);
}

}  // namespace berth
