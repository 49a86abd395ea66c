#pragma once

// The converge engine: per host, probe (one exec), plan (local), apply (one exec per
// stage with changes). Generated secrets are read by the same probe and made
// locally on the first run, one value for the whole run; their values replace
// placeholders in file contents before the plan, so a re-run that finds everything
// in place costs one exec per host.

#include <core/converge/plan.hpp>
#include <core/converge/probe.hpp>
#include <core/remote.hpp>
#include <core/converge/desired.hpp>

#include <chrono>
#include <functional>
#include <map>
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
  // Apply mode: how long its step took on the host, as the controller saw its records
  // arrive (missing packages are one apt-get step: each of them carries its time).
  std::chrono::milliseconds elapsed{0};
};

// A handler (reload, restart, daemon-reload, reexec) due on one host: triggered by
// this run's changes, or owed by an interrupted run (apply.hpp).
struct HandlerReport {
  std::string name;                  // "reload:nginx.service"
  bool owed = false;                 // recorded on the server by an earlier run
  // Runs after the converge, as the app's blue/green restart (apply.hpp: release:APP);
  // not counted among the converge's outcomes.
  bool deferred = false;
  Outcome outcome = Outcome::changed;  // plan mode: changed (= will run)
  std::chrono::milliseconds elapsed{0};  // apply mode: how long it ran
};

// Apply mode: one stage's script on one host, from its start to its last record.
struct StageTime {
  std::string stage;                 // "packages", "config", ...
  std::chrono::milliseconds elapsed{0};
};

// What happened on one host.
struct HostReport {
  std::string host;
  std::vector<ResourceReport> resources;
  // Plan mode: the owed handlers. Apply mode: every handler that was due, with what
  // became of it.
  std::vector<HandlerReport> handlers;
  int execs = 0;                     // remote commands used by this run
  std::chrono::milliseconds elapsed{0};
  std::vector<StageTime> stages;     // apply mode: the stages that ran, in order
  std::string error;                 // empty when the host succeeded
  std::string hint;                  // what to do about `error` (a connect failure's), may be empty
  std::string failed_step;           // resource id or handler of the failing step
  std::string stderr_tail;           // last lines the failing step printed

  // Resources and handlers (not deferred ones) with this outcome.
  int count(Outcome outcome) const;
  // The deferred handlers due on this host: owed, or triggered by this run's changes
  // (in apply mode: recorded as owed by a step that succeeded).
  std::vector<std::string> deferred() const;
  bool failed() const { return !error.empty(); }
};

// Progress messages ("probing", "applying config") for the display; may be empty.
using Progress = std::function<void(std::string_view)>;

// A host after its probe: what was observed, or HostReport::error when the probe
// failed. The secret files the probe read are in probe.files, registered for redaction.
struct ProbedHost {
  HostReport report;
  std::vector<Resource> resources;   // the desired ones plus the secret files
  ProbeResult probe;
  std::chrono::steady_clock::time_point start;
  int execs_before = 0;
  // A Desired::expectation the server did not meet: report.error holds its message,
  // and no host of the run may change anything.
  bool refused = false;
};

// The value of each generated secret for one run over several hosts, or why there
// is none.
struct SecretValue {
  std::string value;
  std::string error;
};
using SecretValues = std::map<std::string, SecretValue>;

// A run converges its hosts in two phases so that a secret one server makes and
// others use (the db host's password in the app hosts' DATABASE_URL, the app's
// generated secrets on every app host) has one value everywhere:
//
//   probe_host on every host (one exec each), resolve_secrets over all of them,
//   apply_host on every host (plan locally, then one exec per stage with changes).
//
// Probes `desired` on `remote`; `progress` gets "probing".
ProbedHost probe_host(Remote& remote, const Desired& desired,
                      const Progress& progress = {});

// Each secret's value: its owner's (the server whose GeneratedSecret has copy ==
// false); when the owner has none yet, a copy's, else a new one; when the owner is
// not in the run (or could not be probed), a copy's, else an error naming the owner.
// desired[i] and probed[i] are host i's (probed[i] null when it was not probed).
SecretValues resolve_secrets(const std::vector<const Desired*>& desired,
                             const std::vector<const ProbedHost*>& probed);

// Plans and (in apply mode) applies `desired` on the host `probed` describes, with
// `secrets` in place of the placeholders. `progress` gets a line per phase
// ("applying packages: nginx nodejs"), `output` every line the apply scripts print
// (apt's progress, validation output). Never throws for a remote failure: it ends
// up in HostReport::error with the step and stderr tail; a secret without a value
// fails the host (step "secrets") before any change.
HostReport apply_host(Remote& remote, const Desired& desired, ProbedHost probed,
                      const SecretValues& secrets, Mode mode, const Progress& progress = {},
                      const Progress& output = {});

// A generated secret's fresh value: `bytes` random bytes, base64url without padding
// (safe inside URLs, SQL strings and env files).
std::string generate_secret_value(int bytes);

}  // namespace berth::converge
