#include <core/health/gate.hpp>

#include <algorithm>
#include <map>
#include <thread>

namespace berth::health {

std::chrono::steady_clock::time_point SteadyClock::now() { return std::chrono::steady_clock::now(); }

void SteadyClock::sleep_for(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

GatePolicy gate_policy(std::span<const LocalCheck> checks, std::chrono::milliseconds deadline) {
  GatePolicy policy;
  policy.deadline = deadline;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    policy.interval = i == 0 ? checks[i].interval : std::min(policy.interval, checks[i].interval);
    policy.thresholds[checks[i].name] = checks[i].success_threshold;
  }
  return policy;
}

GateOutcome run_gate(const Round& round, const GatePolicy& policy, Clock& clock, const OnRound& on_round) {
  const auto start = clock.now();
  const auto end = start + policy.deadline;
  const auto threshold_of = [&](const std::string& name) {
    const auto it = policy.thresholds.find(name);
    return std::max(1, it == policy.thresholds.end() ? policy.success_threshold : it->second);
  };
  std::map<std::pair<std::string, std::string>, int> streaks;
  GateOutcome outcome;
  auto retry = policy.retry;
  while (true) {
    const auto round_start = clock.now();
    outcome.last = round();
    ++outcome.rounds;
    if (on_round) on_round(outcome.rounds, outcome.last);
    bool all = true;
    for (const auto& r : outcome.last) {
      int& streak = streaks[{r.host, r.name}];
      streak = r.ok ? streak + 1 : 0;
      all = all && streak >= threshold_of(r.name);
    }
    const auto now = clock.now();
    outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - start);
    if (all) {
      outcome.passed = true;
      return outcome;
    }
    const bool failed =
        std::any_of(outcome.last.begin(), outcome.last.end(), [](const CheckResult& r) { return !r.ok; });
    auto wait = policy.interval;
    if (failed && retry > std::chrono::milliseconds(0)) {
      wait = std::min(wait, retry);
      retry *= 2;
    } else if (!failed) {
      retry = policy.retry;
    }
    const auto next = std::max(now, round_start + wait);
    if (next > end) return outcome;
    clock.sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(next - now));
  }
}

}  // namespace berth::health
