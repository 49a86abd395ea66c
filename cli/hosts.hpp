#pragma once

// What the commands that work on servers share: the selected hosts of the manifest,
// connected through one ssh::Fleet built from the global options.

#include <cli/cli.hpp>
#include <core/manifest/manifest.hpp>
#include <core/ssh/pool.hpp>

#include <vector>

namespace berth::cli {

// The servers chosen by --hosts/--role, and a Fleet (not yet connected) for them with
// the host-key policy, parallelism and fail-fast of the global options. Warnings of
// the transport go to `ui`.
struct Selection {
  std::vector<const manifest::Server*> servers;
  ssh::Fleet fleet;
};
Selection open_hosts(const GlobalOptions& global, const manifest::Manifest& manifest, Ui& ui);

// Prints on stderr why each host of `results` failed, the host named once, with the
// hint (how every command reports unreachable and failed hosts).
void print_host_errors(Ui& ui, const HostResults& results);

// open_hosts() for commands about the app (deploy, releases, lock, logs): without
// --role, the servers with the app role.
Selection open_app_hosts(const GlobalOptions& global, const manifest::Manifest& manifest, Ui& ui);

// For release playbooks (deploy, rollback, `berth run`): the app servers open_app_hosts
// chooses, and every proxy server (their upstreams switch to the new instances), in
// the manifest's order.
Selection open_release_hosts(const GlobalOptions& global, const manifest::Manifest& manifest, Ui& ui);

}  // namespace berth::cli
