#include <core/ssh/pool.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

namespace berth::ssh {

std::vector<Outcome> run_parallel(std::size_t count, int parallel, FailFast fail_fast,
                                  const std::function<bool(std::size_t)>& task) {
  std::vector<Outcome> outcomes(count, Outcome::skipped);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::exception_ptr first_exception;

  const auto worker = [&] {
    for (;;) {
      if (stop.load()) return;
      const std::size_t i = next.fetch_add(1);
      if (i >= count) return;
      bool ok = false;
      try {
        ok = task(i);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!first_exception) first_exception = std::current_exception();
      }
      outcomes[i] = ok ? Outcome::succeeded : Outcome::failed;
      if (!ok && fail_fast == FailFast::yes) stop.store(true);
    }
  };

  const auto threads = std::min<std::size_t>(count, static_cast<std::size_t>(std::max(parallel, 1)));
  {
    std::vector<std::jthread> pool;
    pool.reserve(threads);
    // The calling thread works too: one host needs no extra thread.
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
  }
  if (first_exception) std::rethrow_exception(first_exception);
  return outcomes;
}

Fleet::Fleet(std::vector<Target> targets, Options options, int parallel, FailFast fail_fast)
    : options_(std::move(options)), parallel_(parallel), fail_fast_(fail_fast) {
  hosts_.reserve(targets.size());
  for (auto& target : targets) hosts_.push_back(Host{std::move(target), nullptr, std::nullopt});
}

HostResults Fleet::run(const HostWork& work) {
  HostResults results(hosts_.size());
  const auto outcomes = run_parallel(hosts_.size(), parallel_, fail_fast_, [&](std::size_t i) {
    auto& host = hosts_[i];
    auto& result = results[i];
    // A connection lost in an earlier step (the peer closed it, sshd's session was
    // killed) is made again: a deploy cut off this way can still switch back.
    if (host.session != nullptr && !host.session->connected()) host.session.reset();
    if (!host.error && host.session == nullptr) {
      auto connected = Session::connect(host.target, options_);
      if (connected) {
        host.session = std::move(*connected);
      } else {
        host.error = connected.error();
      }
    }
    if (host.error) {
      result.error = host.error;
      return false;
    }
    auto done = work(i, *host.session);
    if (!done) result.error = std::move(done.error());
    return done.has_value();
  });
  for (std::size_t i = 0; i < results.size(); ++i) {
    results[i].host = hosts_[i].target.name;
    results[i].skipped = outcomes[i] == Outcome::skipped;
  }
  return results;
}

void Fleet::forget(std::size_t i) {
  hosts_[i].session.reset();
  hosts_[i].error.reset();
}

}  // namespace berth::ssh
