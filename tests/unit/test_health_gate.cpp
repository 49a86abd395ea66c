#include <core/health/gate.hpp>

#include <catch2/catch.hpp>

#include <vector>

using namespace berth::health;
using namespace std::chrono_literals;

namespace {

// Time moves only when the gate sleeps or a round "takes" time.
class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() override { return t; }
  void sleep_for(std::chrono::milliseconds d) override {
    sleeps.push_back(d);
    t += d;
  }
  std::chrono::steady_clock::time_point t{};
  std::vector<std::chrono::milliseconds> sleeps;
};

CheckResult result(std::string name, bool ok) {
  CheckResult r;
  r.host = "web";
  r.name = std::move(name);
  r.ok = ok;
  return r;
}

// A round that plays `script[i]` (ok of check "a", ok of check "b") on round i and
// takes `cost` of fake time; the last entry repeats.
Round scripted(FakeClock& clock, std::vector<std::pair<bool, bool>> script, std::chrono::milliseconds cost = 0ms) {
  return [&clock, script = std::move(script), cost, i = std::size_t{0}]() mutable {
    const auto [a, b] = script[std::min(i++, script.size() - 1)];
    clock.t += cost;
    return std::vector<CheckResult>{result("a", a), result("b", b)};
  };
}

}  // namespace

TEST_CASE("gate: passes on the first round when everything passes") {
  FakeClock clock;
  const auto out = run_gate(scripted(clock, {{true, true}}), {1s, 10s, 1}, clock);
  CHECK(out.passed);
  CHECK(out.rounds == 1);
  CHECK(clock.sleeps.empty());
}

// A policy whose failed rounds are retried at the interval, as a passed one is.
GatePolicy steady(std::chrono::milliseconds interval, std::chrono::milliseconds deadline, int threshold) {
  GatePolicy p{interval, deadline, threshold, {}};
  p.retry = 0ms;
  return p;
}

TEST_CASE("gate: retries at the interval until the checks pass") {
  FakeClock clock;
  int told = 0;
  const auto out = run_gate(scripted(clock, {{false, true}, {false, false}, {true, true}}), steady(2s, 60s, 1), clock,
                            [&](int round, const std::vector<CheckResult>& r) {
                              CHECK(round == ++told);
                              CHECK(r.size() == 2);
                            });
  CHECK(out.passed);
  CHECK(out.rounds == 3);
  CHECK(told == 3);
  CHECK(clock.sleeps == std::vector<std::chrono::milliseconds>{2s, 2s});
  CHECK(out.elapsed == 4s);
}

TEST_CASE("gate: the interval counts from the start of a round") {
  FakeClock clock;
  const auto out = run_gate(scripted(clock, {{false, true}, {true, true}}, 500ms), steady(2s, 60s, 1), clock);
  CHECK(out.passed);
  CHECK(clock.sleeps == std::vector<std::chrono::milliseconds>{1500ms});
  SECTION("a round longer than the interval starts the next at once") {
    FakeClock slow;
    run_gate(scripted(slow, {{false, true}, {true, true}}, 3s), steady(2s, 60s, 1), slow);
    CHECK(slow.sleeps == std::vector<std::chrono::milliseconds>{0ms});
  }
}

TEST_CASE("gate: success threshold needs consecutive passes per check") {
  FakeClock clock;
  SECTION("a failure resets the count") {
    // a: pass pass FAIL pass pass pass -> its third pass in a row is round 6
    const auto out = run_gate(
        scripted(clock, {{true, true}, {true, true}, {false, true}, {true, true}, {true, true}, {true, true}}),
        {1s, 60s, 3}, clock);
    CHECK(out.passed);
    CHECK(out.rounds == 6);
  }
  SECTION("checks count separately") {
    // b passes from round 2 on: it needs rounds 2, 3, 4
    const auto out = run_gate(scripted(clock, {{true, false}, {true, true}}), {1s, 60s, 3}, clock);
    CHECK(out.passed);
    CHECK(out.rounds == 4);
  }
}

TEST_CASE("gate: gives up when the next round would start after the deadline") {
  FakeClock clock;
  const auto out = run_gate(scripted(clock, {{true, false}}), steady(2s, 7s, 1), clock);
  CHECK(!out.passed);
  CHECK(out.rounds == 4);  // at 0s, 2s, 4s, 6s; 8s is past 7s
  REQUIRE(out.last.size() == 2);
  CHECK(!out.last[1].ok);
  CHECK(out.elapsed == 6s);
}

TEST_CASE("gate: a failed round is retried soon, then twice as late each time, up to the interval") {
  FakeClock clock;
  // Failing, failing, ... passing at round 6: waits of 250 ms, 500 ms, 1 s, then the 2 s interval.
  const auto out = run_gate(
      scripted(clock, {{false, true}, {false, true}, {false, true}, {true, false}, {false, true}, {true, true}}),
      {2s, 60s, 1}, clock);
  CHECK(out.passed);
  CHECK(out.rounds == 6);
  CHECK(clock.sleeps == std::vector<std::chrono::milliseconds>{250ms, 500ms, 1s, 2s, 2s});
  SECTION("a passed round starts the retries over, and waits the interval itself") {
    FakeClock c2;
    // threshold 2: pass (wait 2 s), fail (250 ms), pass (2 s), pass.
    const auto again = run_gate(scripted(c2, {{true, true}, {false, true}, {true, true}}), {2s, 60s, 2}, c2);
    CHECK(again.passed);
    CHECK(again.rounds == 4);
    CHECK(c2.sleeps == std::vector<std::chrono::milliseconds>{2s, 250ms, 2s});
  }
  SECTION("a check that keeps failing is given up at the deadline") {
    FakeClock c3;
    const auto never = run_gate(scripted(c3, {{true, false}}), {2s, 7s, 1}, c3);
    CHECK(!never.passed);
    CHECK(never.rounds == 6);  // at 0, 0.25, 0.75, 1.75, 3.75 and 5.75 s; 7.75 s is past 7 s
    CHECK(never.elapsed == 5750ms);
  }
}

TEST_CASE("gate: no checks pass at once") {
  FakeClock clock;
  const auto out = run_gate([] { return std::vector<CheckResult>{}; }, {1s, 5s, 3}, clock);
  CHECK(out.passed);
  CHECK(out.rounds == 1);
}

TEST_CASE("gate: each manifest check keeps its own threshold") {
  LocalCheck a;
  a.name = "a";
  a.interval = 5s;
  a.success_threshold = 1;
  LocalCheck b = a;
  b.name = "b";
  b.interval = 2s;
  b.success_threshold = 3;
  const std::vector<LocalCheck> checks{a, b};
  const auto policy = gate_policy(checks, 30s);
  CHECK(policy.interval == 2s);
  CHECK(policy.deadline == 30s);
  CHECK(policy.thresholds.at("a") == 1);
  CHECK(policy.thresholds.at("b") == 3);
  FakeClock clock;
  // a passes from round 1, b from round 1: b needs 3 rounds, a only 1.
  const auto out = run_gate(scripted(clock, {{true, true}}), policy, clock);
  CHECK(out.passed);
  CHECK(out.rounds == 3);
  SECTION("a check that fails again resets only its own count") {
    FakeClock c2;
    const auto again = run_gate(scripted(c2, {{true, true}, {false, true}, {true, true}}), policy, c2);
    CHECK(again.rounds == 3);  // b passed 3 in a row; a's failure in round 2 was fixed by round 3
  }
}
