#include <cli/hosts.hpp>
#include <core/manifest/load.hpp>
#include <core/util/text.hpp>

#include <algorithm>

namespace berth::cli {

namespace {

Selection open_servers(const GlobalOptions& global, std::vector<const manifest::Server*> servers, Ui& ui) {
  std::vector<ssh::Target> targets;
  for (const auto* server : servers) targets.push_back(ssh::target_of(*server));
  ssh::Options options;
  options.host_keys = global.accept_new_host_keys ? ssh::HostKeyPolicy::accept_new
                                                  : ssh::HostKeyPolicy::refuse_unknown;
  options.warn = [&ui](std::string_view line) { ui.warn(line); };
  return Selection{std::move(servers),
                   ssh::Fleet(std::move(targets), options, global.parallel,
                              global.fail_fast ? ssh::FailFast::yes : ssh::FailFast::no)};
}

}  // namespace

Selection open_hosts(const GlobalOptions& global, const manifest::Manifest& manifest, Ui& ui) {
  return open_servers(global, manifest::select_servers(manifest, global.hosts, global.roles), ui);
}

void print_host_errors(Ui& ui, const HostResults& results) {
  for (const auto& r : results) {
    if (r.error) ui.error(util::about(r.host, r.error->what()), r.error->hint());
  }
}

Selection open_app_hosts(const GlobalOptions& global, const manifest::Manifest& manifest, Ui& ui) {
  auto selection = global;
  if (selection.roles.empty()) selection.roles = {"app"};
  return open_hosts(selection, manifest, ui);
}

Selection open_release_hosts(const GlobalOptions& global, const manifest::Manifest& manifest, Ui& ui) {
  auto selection = global;
  if (selection.roles.empty()) selection.roles = {"app"};
  const auto chosen = manifest::select_servers(manifest, selection.hosts, selection.roles);
  std::vector<const manifest::Server*> servers;
  for (const auto& s : manifest.servers) {
    const bool is_chosen = std::find(chosen.begin(), chosen.end(), &s) != chosen.end();
    if (is_chosen || (manifest.proxy && s.has_role("proxy"))) servers.push_back(&s);
  }
  return open_servers(global, std::move(servers), ui);
}

}  // namespace berth::cli
