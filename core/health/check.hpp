#pragma once

// Health checks as berth runs them: the manifest's [[health]] checks turned into
// probes run from the operator's machine, and the judging of any observation (local
// or from the server-side probe) against its conditions.

#include <core/error.hpp>
#include <core/health/condition.hpp>
#include <core/health/http.hpp>
#include <core/manifest/manifest.hpp>

#include <chrono>
#include <expected>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace berth::health {

// The outcome of one condition of a check.
struct ConditionOutcome {
  std::string condition;                 // as written
  bool ok = false;
  std::string observed;                  // the value the condition saw
};

// The outcome of one check on one host.
struct CheckResult {
  std::string host;                      // a server's name, or the URL's host for an absolute URL
  std::string name;                      // the check's name
  std::string kind;                      // http, tcp, or a server-side kind (unit, timer, disk...)
  std::string target;                    // what was checked (URL, host:port, unit name)
  bool ok = false;                       // every condition passed
  std::string error;                     // why no observation was made (connect refused...); may be empty
  std::vector<ConditionOutcome> conditions;
  std::chrono::milliseconds duration{0};
  std::vector<std::string> details;      // more to show on failure (the last journal lines of a unit)
};

// Judges `observation` against `conditions`. The check passes when every condition
// passes (a check without conditions passes when no error was reported). A
// condition whose value is missing shows `error` as the observed value, so that a
// failure says "Connection refused" rather than "no HTTP status".
CheckResult judge(std::string host, std::string name, std::string kind, std::string target,
                  std::span<const Condition> conditions, const Observation& observation,
                  std::string error = {}, std::chrono::milliseconds duration = {},
                  std::vector<std::string> details = {});

// A manifest check ready to run from here, on one host.
struct LocalCheck {
  std::string host;
  std::string name;
  std::string kind;
  Probe probe;
  std::vector<Condition> conditions;
  std::chrono::milliseconds interval{5000};
  int success_threshold = 1;
};

// Which servers a relative URL ("/healthz") is checked on.
struct Selection {
  std::vector<std::string> hosts;        // --hosts; empty: all
  std::vector<std::string> roles;        // --role; empty: all
  std::vector<std::string> only;         // --only: check names; empty: all
  std::vector<std::string> other_names;  // names of the server-side checks --only may also name
  // By server name: the token sent as layout::check_header with the checks of relative
  // URLs through that server's nginx, so that they pass maintenance and basic auth.
  std::map<std::string, std::string> check_tokens;
};

// Whether `check` is checked on each server (an http check of a relative URL, such as
// "/healthz") rather than once, at the URL it names.
bool checks_each_server(const manifest::HealthCheck& check);

// Whether the check `name` is selected by --only `only`: empty selects all; an entry
// selects the check of that name, or every check of a kind when given without what
// follows the ':' ("unit" selects unit:nginx and unit:postgresql).
bool matches_only(const std::vector<std::string>& only, std::string_view name);

// Turns the manifest's [[health]] checks into probes. An absolute URL is one check;
// a relative URL ("/healthz") is one check per selected server, reached through the
// proxy (its first domain, with connect-to the server's address) or, without a
// proxy, on the app's port. A check without conditions gets `[STATUS] < 400` (http)
// or `[CONNECTED] == true` (tcp). Throws berth::Error listing every malformed
// condition or duration as file:line:col, an --only name that matches neither a
// [[health]] check nor `other_names` nor a certificate ("cert:...") (usage), or a
// relative URL with no server to run on.
std::vector<LocalCheck> plan_local_checks(const manifest::Manifest& manifest, const Selection& selection);

// Runs `checks` all at once (one curl multi handle) and judges them. Fails only when
// libcurl cannot be set up.
std::expected<std::vector<CheckResult>, Error> run_local_checks(std::span<const LocalCheck> checks);

// The hook for server-side checks (units, timers, ports, disk...): returns judged
// results for the hosts it probes, built with judge(). berth health calls it once per
// round next to the local checks; an empty function adds nothing.
using ServerChecks = std::function<std::vector<CheckResult>()>;

// One round: the local checks and the server-side ones, ordered by host (then as
// listed in the manifest).
// Throws berth::Error when libcurl cannot be set up.
std::vector<CheckResult> run_round(std::span<const LocalCheck> checks, const ServerChecks& server_checks);

}  // namespace berth::health
