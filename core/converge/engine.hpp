#pragma once

// The converge engine for one host: probe (one exec), plan (local), apply (one exec
// per stage with changes). Generated secrets are read by the same probe and made
// locally on the first run; their values replace placeholders in file contents
// before the plan, so a re-run that finds everything in place costs one exec.

#include <core/converge/plan.hpp>
#include <core/remote.hpp>
#include <provisioners/provisioner.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace berth::converge {

enum class Mode { plan, apply };

enum class Outcome { ok, changed, failed, skipped };
const char* outcome_name(Outcome outcome);

// What happened to one resource on one host.
struct ResourceReport {
  std::string id;
  std::string kind;
  std::string component;
  Action action = Action::none;
  Outcome outcome = Outcome::ok;     // plan mode: ok or changed (= would change)
  std::vector<std::string> reasons;
  std::string diff;                  // redacted
};

// What happened on one host.
struct HostReport {
  std::string host;
  std::vector<ResourceReport> resources;
  int execs = 0;                     // remote commands used by this run
  std::chrono::milliseconds elapsed{0};
  std::string error;                 // empty when the host succeeded
  std::string failed_step;           // resource id or handler of the failing step
  std::string stderr_tail;           // last lines the failing step printed

  int count(Outcome outcome) const;
  bool failed() const { return !error.empty(); }
};

// Progress messages ("probing", "applying config") for the display; may be empty.
using Progress = std::function<void(std::string_view)>;

// Probes, plans and (in apply mode) applies `desired` on `remote`. `progress` gets a
// line per phase ("applying packages: nginx nodejs"), `output` every line the apply
// scripts print (apt's progress, validation output). Never throws for a remote
// failure: it ends up in HostReport::error with the step and stderr tail.
HostReport converge_host(Remote& remote, const provisioners::Desired& desired, Mode mode,
                         const Progress& progress = {}, const Progress& output = {});

// A generated secret's fresh value: `bytes` random bytes, base64url without padding
// (safe inside URLs, SQL strings and env files).
std::string generate_secret_value(int bytes);

}  // namespace berth::converge
