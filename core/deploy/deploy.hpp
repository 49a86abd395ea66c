#pragma once

// Release playbooks: berth deploy (playbooks/deploy.toml: build and pack locally,
// ship to every app host, migrate once, start the new release on the idle color's
// ports, check the new instances directly, switch nginx's upstream, gate on the
// health checks, then make it current and stop the old instances), berth rollback
// (playbooks/rollback.toml: choose an earlier release, then the same start, switch,
// gate, finalize), and a project's own release playbooks (`berth run NAME`). The
// hosts are the app servers and the proxy servers (whose upstreams switch). With
// [deploy] batch, the steps from start to before finalize run once per batch of app
// servers. Without [proxy], the new release restarts the instances in place. The
// whole run holds the deploy lock on every host; when a step fails after `start`,
// every host is switched back to the release that was serving.

#include <core/manifest/manifest.hpp>
#include <core/playbook/playbook.hpp>
#include <core/hosts.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace berth::deploy {

struct Options {
  std::string target;                            // choose: the release (empty: the previous one)
  std::chrono::seconds lock_wait{0};             // wait this long for a held lock
  // Overrides the health steps' deadlines and the new instances' direct checks
  // (default: the first health step's deadline).
  std::optional<std::chrono::milliseconds> gate_deadline;
  std::chrono::seconds start_wait{30};           // for new instances to answer
  std::chrono::seconds lock_ttl{900};
  const std::atomic<bool>* interrupted = nullptr;  // set by SIGINT/SIGTERM
};

// One host's share of a step: how long its remote commands and uploads took, and how
// many there were (a step may run several on a host, or none).
struct HostTime {
  std::string host;
  std::chrono::milliseconds elapsed{0};
  int execs = 0;
};

// One step of the run, for the report.
struct StepReport {
  std::string name;
  bool ok = true;
  std::chrono::milliseconds elapsed{0};
  std::string detail;
  std::vector<HostTime> hosts;  // the hosts the step ran commands on, in the manifest's order
};

struct Result {
  bool ok = false;
  std::string release;
  std::string previous;                          // what was live before
  std::vector<StepReport> steps;
  std::string error;                             // what failed, where, and what next
  std::vector<std::string> journal;              // last lines of the new instances on failure
  std::vector<std::string> warnings;             // e.g. a host's Node.js outside package.json's engines
  bool switched_back = false;
  bool lock_held = false;                        // failed because another run holds the lock
  bool unreachable = false;                      // failed because a host could not be connected
};

struct Callbacks {
  std::function<void(std::string_view)> progress;  // a line per step and host
  std::function<void(std::string_view)> output;    // build and command output lines
};

// Runs release playbook `book` (deploy, rollback or a project's own; its order was
// checked by playbook::parse_playbook) on the hosts of `fleet` (app and proxy servers,
// at least one app server; `servers` in the same order). Never throws for step failures, remote or
// local (the build failing, no release to roll back to): they end in Result::error.
Result run(const manifest::Manifest& m, const playbook::Playbook& book,
           const std::vector<const manifest::Server*>& servers, Hosts& fleet,
           const Options& options, const Callbacks& callbacks);

// A host's releases, newest first, and which is current.
struct HostReleases {
  std::string host;
  std::string live;                 // blue | green
  std::string current;
  std::vector<std::string> releases;
  std::vector<std::string> served;  // releases that have been live
  std::string error;                // names the host
  std::string hint;
  bool unreachable = false;         // the host could not be connected
};
std::vector<HostReleases> list_releases(const manifest::Manifest& m, Hosts& fleet);

}  // namespace berth::deploy
