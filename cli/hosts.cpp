#include <cli/hosts.hpp>
#include <core/manifest/load.hpp>
#include <core/util/text.hpp>

namespace berth::cli {

Selection open_hosts(const GlobalOptions& global, const manifest::Manifest& manifest, Ui& ui) {
  auto servers = manifest::select_servers(manifest, global.hosts, global.roles);
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

}  // namespace berth::cli
