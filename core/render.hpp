#pragma once

// Rendering of templates/ (Mustache, no HTML escaping: these are config files).

#include <kainjow/mustache.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace berth {

// Renders the template `name` (e.g. "nginx/site.conf.mustache") with `data`. A file
// templates/NAME in `project_dir` (the manifest's folder) overrides the built-in one.
// Throws berth::Error when the template does not exist or does not parse.
std::string render_template(const std::filesystem::path& project_dir, std::string_view name,
                            const kainjow::mustache::data& data);

}  // namespace berth
