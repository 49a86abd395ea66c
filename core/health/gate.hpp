#pragma once

// The deploy gate: run the health checks again and again, at an interval, until each
// has passed a number of times in a row or a deadline passes.

#include <core/health/check.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace berth::health {

// Where the gate gets the time and how it waits; tests use a fake that only advances.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point now() = 0;
  virtual void sleep_for(std::chrono::milliseconds d) = 0;
};

// The real clock (std::chrono::steady_clock, std::this_thread::sleep_for).
class SteadyClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() override;
  void sleep_for(std::chrono::milliseconds d) override;
};

// How long and how often the gate tries.
struct GatePolicy {
  std::chrono::milliseconds interval{std::chrono::seconds(2)};  // between the starts of two rounds
  std::chrono::milliseconds deadline{std::chrono::seconds(60)}; // no round starts after this
  int success_threshold = 1;             // consecutive passes each check needs
  std::map<std::string, int, std::less<>> thresholds;  // by check name: overrides success_threshold
  // After a round with a failed check, the next starts this soon, then twice as late
  // after each further failed round, never later than `interval`: a check that fails
  // for a moment (an instance warming up, nginx's old workers finishing) is seen
  // passing at once, a check that keeps failing is not hammered.
  std::chrono::milliseconds retry{250};
};

// The policy for the manifest checks `checks`: the shortest of their intervals, each
// check's own success_threshold, and `deadline`.
GatePolicy gate_policy(std::span<const LocalCheck> checks, std::chrono::milliseconds deadline);

// What the gate decided.
struct GateOutcome {
  bool passed = false;
  int rounds = 0;
  std::vector<CheckResult> last;         // the results of the last round
  std::chrono::milliseconds elapsed{0};
};

// Runs one round of checks and returns the results.
using Round = std::function<std::vector<CheckResult>()>;
// Told about each round: its number (1-based) and results.
using OnRound = std::function<void(int round, const std::vector<CheckResult>& results)>;

// Runs `round` until every check (by host and name) has passed its threshold
// (policy.thresholds[name], else policy.success_threshold) rounds in a row (a failure resets that check's count),
// or until the next round would start after `policy.deadline`: then the outcome is
// not passed and `last` says which checks failed. Exceptions from `round` propagate.
GateOutcome run_gate(const Round& round, const GatePolicy& policy, Clock& clock, const OnRound& on_round = {});

}  // namespace berth::health
