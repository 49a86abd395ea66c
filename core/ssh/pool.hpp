#pragma once

// Many hosts at once: a bounded thread pool, and a Fleet that keeps one Session per
// host for the whole run (DESIGN.md invariant 1).

#include <core/error.hpp>
#include <core/ssh/session.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace berth::ssh {

// Whether one failing host stops the hosts not started yet (--fail-fast).
enum class FailFast { no, yes };

// What became of one task of run_parallel().
enum class Outcome { succeeded, failed, skipped };

// Runs task(i) for every i in [0, count), starting them in index order on at most
// `parallel` threads (at least 1). A task returns true when it succeeded. With
// FailFast::yes, tasks not started yet when one fails are skipped; running ones
// finish. A task that throws counts as failed, and the first exception is rethrown
// once every thread has ended.
std::vector<Outcome> run_parallel(std::size_t count, int parallel, FailFast fail_fast,
                                  const std::function<bool(std::size_t)>& task);

// The hosts of a run and their sessions, each connected on first use and kept until
// the Fleet is destroyed. A Session is only ever used by one thread at a time.
class Fleet {
 public:
  // Connects nothing yet: hosts are connected by run(), `parallel` at a time.
  Fleet(std::vector<Target> targets, Options options, int parallel, FailFast fail_fast);

  // The number of hosts, and host i's Target (in the order given).
  std::size_t size() const { return hosts_.size(); }
  const Target& target(std::size_t i) const { return hosts_[i].target; }
  // Why host i could not be connected, once connect failed (ExitCode::unreachable).
  const std::optional<Error>& connect_error(std::size_t i) const { return hosts_[i].error; }
  // Whether a failing host stops the others (--fail-fast).
  bool fail_fast() const { return fail_fast_ == FailFast::yes; }

  // Runs work(i, session) for every host in parallel (bounded by `parallel`),
  // connecting hosts that are not connected yet first. A host whose connection
  // failed (now or in an earlier run) counts as failed without calling `work`.
  // Same failure and exception rules as run_parallel().
  std::vector<Outcome> run(const std::function<bool(std::size_t, Session&)>& work);

  // Drops host i's session and connect error: the next run() connects it again
  // (for commands that keep running, like `berth health --watch`, when a host was
  // down or its connection broke).
  void forget(std::size_t i);

 private:
  struct Host {
    Target target;
    std::unique_ptr<Session> session;
    std::optional<Error> error;
  };

  std::vector<Host> hosts_;
  Options options_;
  int parallel_;
  FailFast fail_fast_;
};

}  // namespace berth::ssh
