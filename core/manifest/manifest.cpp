#include <core/manifest/manifest.hpp>

#include <algorithm>

namespace berth::manifest {

const std::vector<std::string>& nodesource_majors() {
  static const std::vector<std::string> majors{"20", "22", "24"};
  return majors;
}

bool Server::has_role(std::string_view role) const {
  // A backup server holds the copies that must survive the others: never by default.
  if (roles.empty()) return role != "backup";
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

const std::string& Server::internal_address() const {
  return private_address.empty() ? address : private_address;
}

int DeployPolicy::batch_size(int app_servers) const {
  if (batch_percent > 0) return std::max(1, (app_servers * batch_percent + 99) / 100);
  if (batch > 0) return std::min(batch, std::max(1, app_servers));
  return std::max(1, app_servers);
}

const Server* Manifest::find_server(std::string_view name) const {
  for (const auto& server : servers) {
    if (server.name == name) return &server;
  }
  return nullptr;
}

std::vector<std::string> Manifest::postgresql_replicas() const {
  std::vector<std::string> out;
  for (const auto& db : databases) {
    if (db.engine != Engine::postgresql) continue;
    for (const auto& name : db.replicas) {
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
  }
  return out;
}

bool Manifest::is_replica(std::string_view name) const {
  const auto all = postgresql_replicas();
  return std::find(all.begin(), all.end(), name) != all.end();
}

std::string replication_slot(std::string_view name) {
  std::string slot = "berth_";
  for (char c : name) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    slot += keep ? c : (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : '_';
  }
  return slot;
}

}  // namespace berth::manifest
