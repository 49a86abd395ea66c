#pragma once

// How health results are shown: a table per host and check, one JSON document
// (docs/health.md has its schema), and the transitions printed by --watch.

#include <core/health/check.hpp>
#include <core/output/ui.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace berth::health {

// The table: one row per condition (host, check, status, observed, condition,
// duration), an `error:` line under a check that could not observe, its details
// under a failed check, and a summary line. Colors come from `ui`.
std::vector<std::string> render_table(std::span<const CheckResult> results, const Ui& ui);

// One check as JSON (the items of "checks" in docs/health.md).
nlohmann::json check_json(const CheckResult& result);

// The document of `berth health --json`.
nlohmann::json report_json(std::span<const CheckResult> results, std::chrono::system_clock::time_point at);

// A check whose state changed between two rounds of --watch.
struct Transition {
  std::optional<bool> before;            // empty: not seen before (first round, or a new check)
  CheckResult now;
};

// The checks of `now` whose ok differs from `before` (matched by host and name), in
// the order of `now`.
std::vector<Transition> transitions(std::span<const CheckResult> before, std::span<const CheckResult> now);

// "15:04:05 web1 home: pass -> FAIL [STATUS] == 200 (observed 503)".
std::string render_transition(const Transition& t, std::chrono::system_clock::time_point at, const Ui& ui);

// A transition as one JSON event (docs/health.md).
nlohmann::json transition_json(const Transition& t, std::chrono::system_clock::time_point at);

// The time as "2026-11-25T15:04:05Z".
std::string iso_time(std::chrono::system_clock::time_point at);

}  // namespace berth::health
