#include <core/util/embedded.hpp>

namespace berth {

std::optional<std::string_view> find_embedded(std::string_view path) {
  for (const auto& file : embedded_files()) {
    if (file.path == path) return file.content;
  }
  return std::nullopt;
}

}  // namespace berth
