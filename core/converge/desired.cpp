#include <core/converge/desired.hpp>

#include <fmt/format.h>

namespace berth::converge {

std::string secret_placeholder(std::string_view name) { return fmt::format("@@berth-secret:{}@@", name); }

std::string secret_public_placeholder(std::string_view name) {
  return fmt::format("@@berth-secret-public:{}@@", name);
}

}  // namespace berth::converge
