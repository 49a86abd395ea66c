#pragma once

// Resources: the closed set of things berth puts on a server, as plain data.
// Provisioners (provisioners/) turn the manifest into a list of these; the engine
// probes their current state in one exec, diffs, and applies what differs.

#include <core/secret.hpp>

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace berth::converge {

// When a resource is applied. Each stage that has changes becomes one apply script;
// handlers run at the end of the stage that triggered them.
enum class Stage {
  packages = 0,   // apt packages
  accounts = 1,   // users and groups
  layout = 2,     // directories and symlinks
  config = 3,     // files (configs, units, env files)
  services = 4,   // systemd units enabled/started, firewall
  data = 5,       // database roles and databases, guarded commands
};
inline constexpr int stage_count = 6;
const char* stage_name(Stage stage);

// apt packages, installed in one apt-get call per stage.
struct Package {
  std::string name;
};

// Whether a file's content must never be shown.
enum class Sensitive { no, yes };
// Whether an existing file is left alone (generated secrets: create once, keep).
enum class Overwrite { yes, no };

// A regular file with exact content, owner, group and mode.
struct File {
  std::string path;
  std::string content;
  std::string owner = "root";
  std::string group = "root";
  std::string mode = "0644";         // octal, 4 digits
  Sensitive sensitive = Sensitive::no;
  Overwrite overwrite = Overwrite::yes;
  // Run after the new file is in place; when it fails, the previous file is put back
  // and the step fails quoting its output. E.g. "nginx -t", "sshd -t", "visudo -cf {}"
  // ({} is replaced by the file's path).
  std::string validate;
};

struct Directory {
  std::string path;
  std::string owner = "root";
  std::string group = "root";
  std::string mode = "0755";
};

struct Symlink {
  std::string path;
  std::string target;
};

struct Group {
  std::string name;
  bool system = true;
};

struct User {
  std::string name;
  bool system = true;
  std::string group;                 // primary group (must exist); empty: one of its own
  std::string home;                  // empty: the default
  std::string shell = "/usr/sbin/nologin";
  std::vector<std::string> groups;   // supplementary groups, added if missing
};

// A systemd unit's enablement and activity. Unit files themselves are File resources
// that notify "daemon-reload" and "restart:UNIT".
struct Unit {
  std::string name;                  // e.g. "nginx.service", "app@3000.service"
  bool enabled = true;
  bool active = true;
};

// A command that runs only when its guard says so: `creates` (a path that must not
// exist yet) and/or `unless` (a shell test that must fail). Without a guard it never
// runs on a re-run, so every command needs one.
struct Command {
  std::string name;                     // its id when set (else `creates`, else `unless`)
  std::string run;
  std::string creates;
  std::string unless;
  Sensitive sensitive = Sensitive::no;  // hides `run` in plans and errors
};

using Spec = std::variant<Package, File, Directory, Symlink, Group, User, Unit, Command>;

// One resource: what, when, and which handlers it triggers when it changes.
struct Resource {
  Spec spec;
  Stage stage = Stage::config;
  std::string component;             // "base", "postgresql", "app", "nginx", "jobs"
  // handlers: "daemon-reload", "reload:UNIT", "restart:UNIT", and "reexec:UNIT" (a
  // reload that waits until a daemon that re-executes itself on SIGHUP, sshd, listens again)
  std::vector<std::string> notify;
  // Packages stage: applied before the stage's apt-get install, for settings a package
  // reads as it installs (PostgreSQL's createcluster.d: the first cluster starts with them).
  bool before_packages = false;

  // A stable unique id: "file:/etc/x", "package:nginx", "unit:nginx.service", ...
  std::string id() const;
  // The kind as a word: "package", "file", ...
  std::string kind() const;
};

// The stage a resource of this kind goes to unless a provisioner says otherwise.
Stage default_stage(const Spec& spec);

// Shorthand for provisioners: a resource in its default stage.
Resource make(Spec spec, std::string component, std::vector<std::string> notify = {});

}  // namespace berth::converge
