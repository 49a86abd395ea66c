#pragma once

// Running a playbook over the selected hosts: its steps in order, each on every host
// it concerns (hosts in parallel), stopping at the first step that fails.

#include <core/converge/engine.hpp>
#include <core/health/gate.hpp>
#include <core/manifest/manifest.hpp>
#include <core/manifest/values.hpp>
#include <core/playbook/playbook.hpp>
#include <core/hosts.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::playbook {

// A remote or local command's outcome on one host ("local" for local steps).
struct CommandReport {
  std::string host;
  int exit_status = -1;
  std::string error;                    // transport failure or exit status, with the stderr tail
  std::chrono::milliseconds elapsed{0};
};

struct StepReport {
  std::string name;
  StepKind kind = StepKind::converge;
  bool ok = true;
  bool ran = true;                      // false in plan mode for steps that only run for real
  std::string error;                    // why the step failed
  std::chrono::milliseconds elapsed{0};
  std::vector<converge::HostReport> hosts;      // converge steps
  std::vector<CommandReport> commands;          // remote and local steps
  std::optional<health::GateOutcome> gate;      // health steps
  bool unreachable = false;             // a host could not be connected
};

// What a playbook run works with. `fleet` has one host per entry of `servers`, in
// the same order.
struct Context {
  const manifest::Manifest& manifest;
  std::vector<const manifest::Server*> servers;
  Hosts& fleet;
  manifest::SecretSources& secrets;
  converge::Mode mode = converge::Mode::apply;
  std::function<void(std::string_view)> progress;   // a line per phase and host
  std::function<void(std::string_view)> detail;     // command output lines
  std::map<std::string, std::string> env;           // BERTH_* for remote and local commands
  std::string remote_cwd;                           // remote commands start here when it exists
  // By server name: the token of berth's own checks through that server's nginx
  // (layout::check_header), read from the server; health steps send it.
  std::map<std::string, std::string> check_tokens;
  // What a server should have, limited to `components` (empty: all), for converge
  // steps: the provisioners' desired_state, given by the command that runs the playbook.
  // Throws berth::Error when a value cannot be resolved.
  // The state is for the given Debian release (what the server runs, once probed).
  std::function<converge::Desired(const manifest::Server&, const std::vector<std::string>& components,
                                  const debian::Release& release)>
      desired;
};

// Runs one converge, remote, local or health step over the context's hosts (in plan
// mode converge steps only plan). Release and hooks steps are not this runner's:
// core/deploy runs them; given one, it throws berth::Error. Throws berth::Error only
// for problems before any host work (a malformed deadline, a missing secret).
StepReport run_step(const Step& step, Context& context);

// Runs `book`'s steps in order and returns a report per step run (the failing one
// last). In plan mode converge steps only plan, other steps are reported with
// ran = false. A release playbook (Playbook::is_release) runs with deploy::run
// instead; given one, it throws berth::Error. Throws berth::Error only for problems before any host work (a
// malformed health condition, a secret that cannot be resolved).
std::vector<StepReport> run_playbook(const Playbook& book, Context& context);

}  // namespace berth::playbook
