#pragma once

// Playbooks: the ordered steps of setup, deploy and rollback, as TOML files in
// playbooks/ (compiled into the binary); a project adds or overrides its own in
// playbooks/NAME.toml next to berth.toml and runs them with `berth run NAME`.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace berth::playbook {

// converge: bring components to the manifest's state; remote/local: a command;
// health: the manifest's checks must pass; release: one step of a release
// (build, ship, migrate, choose, current, start, switch, finalize); hooks: the manifest's
// [hooks] of one kind (pre_build, pre_deploy, post_deploy).
enum class StepKind { converge, remote, local, health, release, hooks };

// The actions of release steps, in the order they may run, and the manifest's hook
// kinds. Their names (the strings in playbooks) are in one table each.
enum class ReleaseAction { build, ship, migrate, choose, current, start, switch_over, finalize };
enum class HookKind { pre_build, pre_deploy, post_deploy };
std::string_view action_name(ReleaseAction action);
std::string_view hook_name(HookKind kind);

struct Step {
  std::string name;
  StepKind kind = StepKind::converge;
  std::vector<std::string> components;   // converge: base, databases, app, proxy, jobs
  std::string command;                   // remote, local
  std::string action;                    // release: build, ship, ...; hooks: pre_build, ...
  ReleaseAction release = ReleaseAction::build;  // release: `action` as an enum
  HookKind hook = HookKind::pre_build;           // hooks: `action` as an enum
  std::string role = "app";              // remote: which servers
  std::string deadline = "60s";          // health: how long to retry
  int line = 0;                          // where the step starts in its file
};

struct Playbook {
  std::string name;
  std::string origin;                    // the file it came from ("built-in playbooks/setup.toml")
  std::string description;
  std::vector<Step> steps;

  // Whether it has release or hooks steps: such a playbook ships or switches
  // releases, runs under the deploy lock on the app hosts (core/deploy) and
  // switches back when a step after `start` fails.
  bool is_release() const;
};

// The components a converge step may name.
const std::vector<std::string>& known_components();

// The names a release step may give (build, ship, ...), in the order they may run.
const std::vector<std::string>& release_actions();

// The names a hooks step may give (the keys of the manifest's [hooks]).
const std::vector<std::string>& hook_kinds();

// Parses a playbook. Throws berth::Error listing every problem as origin:line:col
// (unknown keys, a step with no or two kinds, unknown components or actions, and
// release steps out of order: ship before build, switch before start, start without
// finalize, a converge step among release steps...).
Playbook parse_playbook(std::string_view text, std::string name, std::string origin);

// Playbook NAME: the project's playbooks/NAME.toml in `project_dir` when it exists,
// else the built-in one. Throws berth::Error when there is none, listing those that exist.
Playbook load_playbook(const std::filesystem::path& project_dir, const std::string& name);

// The names of the playbooks a project can run (built-in and its own), sorted.
std::vector<std::string> available_playbooks(const std::filesystem::path& project_dir);

}  // namespace berth::playbook
