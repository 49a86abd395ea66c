#include <core/util/embedded.hpp>

#include <stdexcept>
#include <string>

namespace berth {

std::optional<std::string_view> find_embedded(std::string_view path) {
  for (const auto& file : embedded_files()) {
    if (file.path == path) return file.content;
  }
  return std::nullopt;
}

std::string_view util::embedded(std::string_view path) {
  if (const auto found = find_embedded(path)) return *found;
  throw std::logic_error("not compiled in: " + std::string(path));
}

}  // namespace berth
