#include <core/ssh/pool.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

using namespace berth::ssh;

TEST_CASE("pool: runs every task once, on at most `parallel` threads") {
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  std::mutex mutex;
  std::multiset<std::size_t> seen;
  const auto outcomes = run_parallel(50, 4, FailFast::no, [&](std::size_t i) {
    const int now = ++running;
    int previous = most.load();
    while (now > previous && !most.compare_exchange_weak(previous, now)) {
    }
    std::this_thread::yield();
    {
      std::lock_guard lock(mutex);
      seen.insert(i);
    }
    --running;
    return true;
  });
  CHECK(outcomes.size() == 50);
  CHECK(std::count(outcomes.begin(), outcomes.end(), Outcome::succeeded) == 50);
  CHECK(seen.size() == 50);
  CHECK(std::set<std::size_t>(seen.begin(), seen.end()).size() == 50);
  CHECK(most.load() <= 4);
}

TEST_CASE("pool: one failure stops nothing without fail-fast") {
  const auto outcomes = run_parallel(10, 3, FailFast::no, [](std::size_t i) { return i != 2; });
  CHECK(outcomes[2] == Outcome::failed);
  CHECK(std::count(outcomes.begin(), outcomes.end(), Outcome::succeeded) == 9);
}

TEST_CASE("pool: fail-fast skips the tasks not started yet") {
  // One thread: tasks start strictly in order, so everything after the failure is skipped.
  const auto outcomes = run_parallel(6, 1, FailFast::yes, [](std::size_t i) { return i != 1; });
  CHECK(outcomes == std::vector<Outcome>{Outcome::succeeded, Outcome::failed, Outcome::skipped,
                                         Outcome::skipped, Outcome::skipped, Outcome::skipped});
}

TEST_CASE("pool: an exception is a failure and is rethrown after all tasks") {
  std::atomic<int> ran{0};
  CHECK_THROWS_AS(run_parallel(8, 2, FailFast::no,
                               [&](std::size_t i) {
                                 ++ran;
                                 if (i == 3) throw std::runtime_error("boom");
                                 return true;
                               }),
                  std::runtime_error);
  CHECK(ran.load() == 8);
}

TEST_CASE("pool: no tasks, no threads") {
  CHECK(run_parallel(0, 32, FailFast::no, [](std::size_t) { return true; }).empty());
}

TEST_CASE("pool: a host that cannot connect fails without running the work") {
  // No address: libssh gives up before any traffic.
  Target target{.name = "nowhere", .address = ""};
  Fleet fleet({target}, Options{}, 4, FailFast::no);
  bool called = false;
  const auto results = fleet.run([&](std::size_t, berth::Remote&) -> std::expected<void, berth::Error> {
    called = true;
    return {};
  });
  REQUIRE(results.size() == 1);
  CHECK_FALSE(called);
  CHECK(results[0].host == "nowhere");
  CHECK(results[0].unreachable());
  REQUIRE(results[0].error.has_value());
  CHECK(std::string(results[0].error->what()).starts_with("nowhere: connect: "));
  CHECK(berth::exit_status(results) == berth::ExitCode::unreachable);
  SECTION("a second run does not try again") {
    CHECK(fleet.run([&](std::size_t, berth::Remote&) -> std::expected<void, berth::Error> { return {}; })[0].unreachable());
  }
}
