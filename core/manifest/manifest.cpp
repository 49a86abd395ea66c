#include <core/manifest/manifest.hpp>

#include <algorithm>

namespace berth::manifest {

const std::vector<std::string>& nodesource_majors() {
  static const std::vector<std::string> majors{"20", "22", "24"};
  return majors;
}

bool Server::has_role(std::string_view role) const {
  return roles.empty() || std::find(roles.begin(), roles.end(), role) != roles.end();
}

const Server* Manifest::find_server(std::string_view name) const {
  for (const auto& server : servers) {
    if (server.name == name) return &server;
  }
  return nullptr;
}

}  // namespace berth::manifest
