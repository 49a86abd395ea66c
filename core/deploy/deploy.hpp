#pragma once

// berth deploy and berth rollback: build and pack locally, ship to every app host,
// migrate once, start the new release on the idle color's ports, check the new
// instances directly, switch nginx's upstream, gate on the health checks (switching
// back when they fail), then make it current and stop the old instances. The whole
// run holds the deploy lock on every host.

#include <core/manifest/manifest.hpp>
#include <core/ssh/pool.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace berth::deploy {

enum class Kind { deploy, rollback };

struct Options {
  Kind kind = Kind::deploy;
  std::string target;                            // rollback: the release (empty: the previous one)
  std::chrono::seconds lock_wait{0};             // wait this long for a held lock
  std::chrono::milliseconds gate_deadline{std::chrono::seconds(60)};
  std::chrono::seconds start_wait{30};           // for new instances to answer
  std::chrono::seconds drain{3};                 // before old instances stop
  std::chrono::seconds lock_ttl{900};
  const std::atomic<bool>* interrupted = nullptr;  // set by SIGINT/SIGTERM
};

// One step of the run, for the report.
struct StepReport {
  std::string name;
  bool ok = true;
  std::chrono::milliseconds elapsed{0};
  std::string detail;
};

struct Result {
  bool ok = false;
  std::string release;
  std::string previous;                          // what was live before
  std::vector<StepReport> steps;
  std::string error;                             // what failed, where, and what next
  std::vector<std::string> journal;              // last lines of the new instances on failure
  bool switched_back = false;
  bool lock_held = false;                        // failed because another run holds the lock
};

struct Callbacks {
  std::function<void(std::string_view)> progress;  // a line per step and host
  std::function<void(std::string_view)> output;    // build and command output lines
};

// Runs a deploy or a rollback on the hosts of `fleet` (each must have the app role;
// `servers` in the same order). Never throws for remote failures: they end in
// Result::error; throws berth::Error for local problems before anything changed
// (the build failing, no release to roll back to).
Result run(const manifest::Manifest& m, const std::vector<const manifest::Server*>& servers,
           ssh::Fleet& fleet, const Options& options, const Callbacks& callbacks);

// A host's releases, newest first, and which is current.
struct HostReleases {
  std::string host;
  std::string live;                 // blue | green
  std::string current;
  std::vector<std::string> releases;
  std::vector<std::string> served;  // releases that have been live
  std::string error;
};
std::vector<HostReleases> list_releases(const manifest::Manifest& m, ssh::Fleet& fleet);

}  // namespace berth::deploy
