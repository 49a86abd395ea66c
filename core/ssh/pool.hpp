#pragma once

// Many hosts at once: a bounded thread pool, and a Fleet that keeps one Session per
// host for the whole run (DESIGN.md invariant 1).

#include <core/error.hpp>
#include <core/hosts.hpp>
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
class Fleet : public Hosts {
 public:
  // Connects nothing yet: hosts are connected by run(), `parallel` at a time.
  Fleet(std::vector<Target> targets, Options options, int parallel, FailFast fail_fast);

  std::size_t size() const override { return hosts_.size(); }
  const std::string& name(std::size_t i) const override { return hosts_[i].target.name; }
  bool fail_fast() const override { return fail_fast_ == FailFast::yes; }
  // Host i's Target (in the order given).
  const Target& target(std::size_t i) const { return hosts_[i].target; }

  // See Hosts::run: `parallel` hosts at a time, a connect failure is the host's
  // Error (ExitCode::unreachable, with its hint).
  HostResults run(const HostWork& work) override;
  void forget(std::size_t i) override;

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
