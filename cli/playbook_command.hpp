#pragma once

// What `berth plan`, `berth setup`, `berth run`, `berth deploy` and `berth rollback`
// share: run a playbook over the selected hosts and print its report.

#include <cli/cli.hpp>
#include <core/converge/engine.hpp>
#include <core/deploy/deploy.hpp>
#include <core/manifest/manifest.hpp>
#include <core/playbook/playbook.hpp>

#include <nlohmann/json.hpp>

#include <optional>

#include <string>
#include <vector>

namespace berth::cli {

enum class DetailedExitCode { no, yes };

// The flags of release playbooks: --lock-wait, --gate-deadline and rollback's RELEASE.
struct ReleaseFlags {
  std::string lock_wait = "0s";
  std::string gate_deadline;        // empty: the playbook's health step deadline
  std::string target;               // choose: the release to go back to
  bool change_host_settings = false;  // setup: this manifest's host settings replace the other apps'
};

// Loads the manifest, selects and connects the hosts, runs playbook `name` in `mode`
// and prints the result (text or --json). Returns the exit status: 0 when every step
// succeeded, 1 when one failed, 5 when a host was unreachable; in plan mode with
// DetailedExitCode::yes, 2 when something would change. When the converge changed what
// the app's instances start with (converge/apply.hpp: release:APP), the `restart`
// release playbook then runs on those hosts (with `release_flags`), and its status
// counts. A release playbook goes to run_release_command (with `release_flags`);
// planning one is a usage error (64).
int run_playbook_command(const GlobalOptions& global, Ui& ui, const std::string& name,
                         converge::Mode mode, DetailedExitCode detailed = DetailedExitCode::no,
                         const ReleaseFlags* release_flags = nullptr);
struct ReleaseReport;
// The same with `manifest` as loaded (or as a command changed it for its run: `berth db
// promote` converges the app servers to the manifest the switchover leaves). When the
// app restarted and `restart` is given, the restart's report is put there.
int run_playbook_command(const GlobalOptions& global, Ui& ui, const manifest::Manifest& manifest,
                         const std::string& name, converge::Mode mode,
                         DetailedExitCode detailed = DetailedExitCode::no,
                         const ReleaseFlags* release_flags = nullptr, std::optional<ReleaseReport>* restart = nullptr);

// Adds --lock-wait and --gate-deadline to `sub`, stored in `flags`.
void add_release_flags(CLI::App* sub, ReleaseFlags& flags);

// A release playbook's run and the app hosts it ran on.
struct ReleaseReport {
  deploy::Result result;
  std::vector<std::string> hosts;   // the app servers and the proxy servers of the run
  std::size_t app_hosts = 0;        // how many of them are app servers
};

// Runs release playbook `book` on the app hosts of `global`'s selection under the deploy
// lock, with Ctrl-C/TERM switching back; prints progress only.
ReleaseReport run_release(const GlobalOptions& global, Ui& ui, const manifest::Manifest& manifest,
                          const playbook::Playbook& book, const ReleaseFlags& flags);
// The run as --json reports it.
nlohmann::json release_json(const playbook::Playbook& book, const ReleaseReport& report);
// Prints each step (text mode) and the error; returns the exit status (0, 1, 4, 5).
int print_release(Ui& ui, const playbook::Playbook& book, const ReleaseReport& report);

// Runs release playbook `book` (deploy, rollback or a project's own) on the app hosts
// under the deploy lock, with Ctrl-C/TERM switching back, and prints each step (text
// or --json). Returns 0 when it succeeded, 4 when another run holds the lock, 5 when
// a host could not be connected, 1 when a step failed (the error says whether the
// previous release keeps serving).
int run_release_command(const GlobalOptions& global, Ui& ui, const manifest::Manifest& manifest,
                        const playbook::Playbook& book, const ReleaseFlags& flags);

}  // namespace berth::cli
