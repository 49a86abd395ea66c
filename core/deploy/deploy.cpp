#include <core/util/clock.hpp>
#include <core/deploy/deploy.hpp>
#include <core/deploy/release.hpp>
#include <core/deploy/scripts.hpp>
#include <core/health/condition.hpp>
#include <core/output/redact.hpp>
#include <core/playbook/run.hpp>
#include <core/util/duration.hpp>
#include <core/util/frame.hpp>
#include <core/util/process.hpp>
#include <core/layout/layout.hpp>

#include <core/util/text.hpp>

#include <fmt/format.h>

#include <csignal>
#include <set>
#include <filesystem>
#include <thread>
#include <unistd.h>

namespace berth::deploy {
namespace {

using util::since;

using Clock = std::chrono::steady_clock;
using playbook::StepKind;
using layout::Color;


std::string machine_name() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  const char* user = std::getenv("USER");
  return fmt::format("{}@{}", user ? user : "root", name);
}

// Whether either side of `c` reads the placeholder `name`.
bool mentions(const health::Condition& c, std::string_view name) {
  return c.left.name == name || c.right.name == name;
}

// The first http check with a relative URL: new instances are checked on it
// directly, before they take traffic (on "/" when there is none).
const manifest::HealthCheck* direct_check(const manifest::Manifest& m) {
  for (const auto& h : m.health) {
    if (h.kind == "http" && h.url.starts_with("/")) return &h;
  }
  return nullptr;
}

// One host's part of the run: an app server, a proxy server, or both.
struct Host {
  std::string name;
  const manifest::Server* server = nullptr;
  bool app = false;
  bool proxy = false;       // its nginx balances over the app servers
  Color live = Color::blue;
  std::string current;
  std::string node;         // `node --version` there (runtime node)
  bool started = false;     // new instances running
  bool switched = false;    // the proxies' upstreams point at them
  bool in_batch = false;    // among the app servers this batch starts and switches
  bool touched = false;     // a proxy whose upstreams this run changed
  bool failed = false;      // its batch failed within [deploy] max_fail: it keeps the previous release
  std::string error;
};

// The hosts of a run, each one's time in remote work and its commands counted, for
// the per-host times of each step.
class Metered final : public Hosts {
 public:
  explicit Metered(Hosts& inner) : inner_(inner), used_(inner.size()) {}
  std::size_t size() const override { return inner_.size(); }
  const std::string& name(std::size_t i) const override { return inner_.name(i); }
  bool fail_fast() const override { return inner_.fail_fast(); }
  void forget(std::size_t i) override { inner_.forget(i); }
  HostResults run(const HostWork& work) override {
    // Each host's work runs on one thread at a time: its entry is its own.
    return inner_.run([&](std::size_t i, Remote& remote) {
      const auto start = Clock::now();
      const int before = remote.exec_count();
      auto out = work(i, remote);
      used_[i].elapsed += since(start);
      used_[i].execs += remote.exec_count() - before;
      return out;
    });
  }
  // What each host has used since the run began.
  const std::vector<HostTime>& used() const { return used_; }

 private:
  Hosts& inner_;
  std::vector<HostTime> used_;
};

class Run {
 public:
  Run(const manifest::Manifest& m, const playbook::Playbook& book,
      const std::vector<const manifest::Server*>& servers, Hosts& fleet, const Options& options,
      const Callbacks& callbacks)
      : m_(m), book_(book), fleet_(fleet), options_(options), callbacks_(callbacks),
        hosts_(servers.size()), secrets_(m),
        context_{m, servers, fleet_, secrets_, converge::Mode::apply, callbacks.progress, callbacks.output, {}, {}} {
    me_.token = util::random_hex(8);
    me_.owner = machine_name();
    me_.pid = std::to_string(getpid());
    me_.command = book.name == "deploy" || book.name == "rollback" ? book.name : "run " + book.name;
    me_.ttl = options.lock_ttl.count();
    for (std::size_t i = 0; i < servers.size(); ++i) {
      auto& h = hosts_[i];
      h.name = servers[i]->name;
      h.server = servers[i];
      h.app = servers[i]->has_role("app");
      h.proxy = m.proxy && servers[i]->has_role("proxy");
      h.in_batch = h.app;
      if (h.app) apps_.push_back(i);
    }
    tarball_ = std::filesystem::temp_directory_path() / fmt::format("berth-{}-{}.tar", m_.app.name, me_.token);
  }

  ~Run() {
    std::error_code ec;
    std::filesystem::remove(tarball_, ec);
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  Result go() {
    if (apps_.empty()) {
      result_.error = "no app server among the selected hosts";
      return result_;
    }
    if (!step("lock", [&] { return lock(); })) return finish();
    const auto& steps = book_.steps;
    for (std::size_t i = 0; i < steps.size() && !nothing_live_; ++i) {
      const auto batches = batches_of(steps, i);
      if (batches.size() <= 1) {
        if (!run_step(steps[i])) return failed();
        continue;
      }
      // From start to the step before finalize, once per batch of app servers: each
      // batch is switched and gated before the next starts.
      const auto end = finalize_after(steps, i);
      for (std::size_t b = 0; b < batches.size(); ++b) {
        std::string names;
        for (auto& h : hosts_) h.in_batch = false;
        for (const auto k : batches[b]) {
          hosts_[k].in_batch = true;
          names += (names.empty() ? "" : ", ") + hosts_[k].name;
        }
        batch_label_ = fmt::format(" (batch {}/{}: {})", b + 1, batches.size(), names);
        // Within [deploy] max_fail, a failed batch goes back alone and the next one starts.
        may_fail_ = failed_.size() + batches[b].size() <= static_cast<std::size_t>(m_.deploy.max_fail);
        bool ok = true;
        for (std::size_t k = i; k < end && ok; ++k) ok = run_step(steps[k]);
        may_fail_ = false;
        if (ok) continue;
        if (!batch_failed_) return failed();
        batch_failed_ = false;
        if (!undo_hosts([](const Host& h) { return h.in_batch; }, false)) {
          result_.error = "a failed batch could not be put back alone:" + batch_errors_ + result_.error;
          undo();
          return failed();
        }
        for (const auto k : batches[b]) {
          hosts_[k].failed = true;
          failed_.push_back(hosts_[k].name);
        }
      }
      batch_label_.clear();
      for (const auto k : apps_) hosts_[k].in_batch = !hosts_[k].failed;
      if (failed_.size() == apps_.size()) {
        result_.error = "every batch failed; every app server serves the previous release:" + batch_errors_;
        return finish();
      }
      i = end - 1;
    }
    if (!failed_.empty()) {
      // The deploy went on without them ([deploy] max_fail): it still failed.
      result_.error = fmt::format("{} of {} app server(s) failed and serve the previous release ({}); {} runs "
                                  "on the others:{}",
                                  failed_.size(), apps_.size(), fmt::join(failed_, ", "), result_.release,
                                  batch_errors_);
      return finish();
    }
    result_.ok = true;
    return finish();
  }

 private:
  Result failed() {
    if (finalized_) result_.error += fmt::format("\n{} is live: the step failed after finalize", result_.release);
    return finish();
  }

  // The app servers in batches ([deploy] batch) when step `i` starts a release and
  // a finalize follows it; else one batch of all of them.
  std::vector<std::vector<std::size_t>> batches_of(const std::vector<playbook::Step>& steps, std::size_t i) const {
    const bool starts = steps[i].kind == StepKind::release && steps[i].release == playbook::ReleaseAction::start;
    if (!starts || finalize_after(steps, i) == steps.size()) return {apps_};
    const auto size = static_cast<std::size_t>(m_.deploy.batch_size(static_cast<int>(apps_.size())));
    std::vector<std::vector<std::size_t>> out;
    for (std::size_t k = 0; k < apps_.size(); k += size) {
      out.emplace_back(apps_.begin() + static_cast<long>(k), apps_.begin() + static_cast<long>(std::min(k + size, apps_.size())));
    }
    return out;
  }

  // The index of the first finalize step after `i` (steps.size() when none).
  static std::size_t finalize_after(const std::vector<playbook::Step>& steps, std::size_t i) {
    for (std::size_t k = i + 1; k < steps.size(); ++k) {
      if (steps[k].kind == StepKind::release && steps[k].release == playbook::ReleaseAction::finalize) return k;
    }
    return steps.size();
  }

  // One step of the playbook; false when it failed (and every host was put back).
  bool run_step(const playbook::Step& s) {
    const auto name = s.name + batch_label_;
    switch (s.kind) {
      case StepKind::release: return step(name, [&] { return release_step(s.release); });
      case StepKind::hooks: return hooks(s);
      case StepKind::remote:
      case StepKind::local:
      case StepKind::health: return step(name, [&] { return common_step(s); });
      case StepKind::converge: break;  // refused by parse_playbook among release steps
    }
    return step(name, [&]() -> std::string { throw Error("a converge step cannot run among release steps"); });
  }

  std::string release_step(playbook::ReleaseAction action) {
    using playbook::ReleaseAction;
    switch (action) {
      case ReleaseAction::build: return build();
      case ReleaseAction::ship: return ship();
      case ReleaseAction::migrate: return migrate();
      case ReleaseAction::choose: return choose_rollback();
      case ReleaseAction::current: return choose_current();
      case ReleaseAction::start: return start();
      case ReleaseAction::switch_over: return switch_over();
      case ReleaseAction::finalize: return finalize();
    }
    throw Error("unknown release step", ExitCode::internal);
  }


  std::string build() {
    result_.release = make_release_id(build_dir(m_), std::chrono::system_clock::now());
    run_build(m_, [&](std::string_view line) { output("build | " + std::string(line)); });
    pack_release(m_, tarball_);
    return fmt::format("{} ({:.1f} MB)", result_.release, std::filesystem::file_size(tarball_) / 1e6);
  }

  // The context of remote, local and health steps: the release's environment, remote
  // commands in its folder.
  playbook::Context& context() {
    context_.env = {{"BERTH_APP", m_.app.name}, {"BERTH_PLAYBOOK", book_.name}};
    context_.remote_cwd.clear();
    if (!result_.release.empty()) {
      context_.env["BERTH_RELEASE"] = result_.release;
      context_.remote_cwd = fmt::format("{}/releases/{}", layout::app_root(m_), result_.release);
    }
    return context_;
  }

  // A remote, local or health step, through the playbook runner.
  std::string common_step(const playbook::Step& s) {
    auto step_copy = s;
    if (s.kind == StepKind::health && options_.gate_deadline) {
      step_copy.deadline = util::format_duration(*options_.gate_deadline);
    }
    const auto report = playbook::run_step(step_copy, context());
    if (!report.ok) throw Error(report.error, report.unreachable ? ExitCode::unreachable : ExitCode::failure);
    if (report.gate) {
      if (report.gate->last.empty()) return "no health checks in the manifest";
      return fmt::format("{} check(s) passed in {} round(s)", report.gate->last.size(), report.gate->rounds);
    }
    return fmt::format("{} command(s) ran", report.commands.size());
  }

  // How long new instances have to pass their direct check: --gate-deadline, else
  // the first health step's deadline, else 60 s.
  std::chrono::milliseconds start_deadline() const {
    if (options_.gate_deadline) return *options_.gate_deadline;
    for (const auto& s : book_.steps) {
      if (s.kind != StepKind::health) continue;
      if (const auto d = util::parse_duration(s.deadline)) return *d;
    }
    return std::chrono::seconds(60);
  }

  // Runs `body` as a named step: timed, reported, failures recorded. Returns whether
  // it succeeded. A body returns its detail text, or throws StepFailed / berth::Error.
  template <class Body>
  bool step(const std::string& name, Body body) {
    if (options_.interrupted && options_.interrupted->load()) {
      result_.error = fmt::format("interrupted before {}", name);
      undo();
      return false;
    }
    progress(name);
    const auto start = Clock::now();
    const auto used_before = fleet_.used();
    StepReport report{name, true, {}, {}, {}};
    try {
      report.detail = body();
    } catch (const Error& e) {
      report.ok = false;
      report.detail = e.what();
      if (result_.error.empty()) {
        result_.error = fmt::format("{}: {}", name, e.what());
        if (!e.hint().empty()) result_.error += fmt::format("\n({})", e.hint());
      }
      result_.unreachable = result_.unreachable || e.code() == ExitCode::unreachable;
    }
    report.elapsed = since(start);
    for (std::size_t i = 0; i < hosts_.size(); ++i) {
      const auto& now = fleet_.used()[i];
      const int execs = now.execs - used_before[i].execs;
      if (execs > 0) report.hosts.push_back({hosts_[i].name, now.elapsed - used_before[i].elapsed, execs});
    }
    result_.steps.push_back(report);
    if (!report.ok) {
      const bool interrupted = options_.interrupted && options_.interrupted->load();
      if (may_fail_ && !result_.unreachable && !interrupted) {
        // The batch's own failure, within max_fail: go() puts this batch back alone.
        batch_failed_ = true;
        batch_errors_ += "\n  " + result_.error;
        result_.error.clear();
      } else {
        undo();
      }
    }
    return report.ok;
  }

  void progress(std::string_view line) {
    if (callbacks_.progress) callbacks_.progress(line);
  }
  void output(std::string_view line) {
    if (callbacks_.output) callbacks_.output(line);
  }

  // The prelude of a step's scripts: the lock checked and its heartbeat refreshed,
  // and a new step recorded, which fences off the scripts of earlier steps still
  // running on a host after their connection was cut (scripts.hpp).
  std::string fence() const { return lock_fence_script(m_, me_.token, util::random_hex(8)); }

  // Runs `script(i)` on every host at once; throws the first failed host's Error
  // (transport, or exit status with the stderr tail).
  std::vector<ScriptResult> on_hosts(const std::string& what,
                                     const std::function<std::string(std::size_t)>& script) {
    std::vector<ScriptResult> results(hosts_.size());
    const auto prelude = fence();
    throw_first(fleet_.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
      auto text = script(i);
      if (text.empty()) return {};
      text = prelude + text;
      auto ran = remote.run_script(text, Privilege::root, [&](Stream, std::string_view line) {
        output(fmt::format("{} | {}", remote.name(), line));
      });
      if (ran) results[i] = *ran;
      return script_ok(remote, what, ran, 15);
    }));
    return results;
  }

  // Throws the first failed host's Error (unreachable ones first: their exit status wins).
  static void throw_first(const HostResults& results) {
    for (const auto& r : results) {
      if (r.unreachable()) throw *r.error;
    }
    for (const auto& r : results) {
      if (r.error) throw *r.error;
      if (r.skipped) throw Error(util::about(r.host, "skipped: another host failed (--fail-fast)"));
    }
  }

  std::string lock() {
    const auto deadline = Clock::now() + options_.lock_wait;
    std::vector<bool> held(hosts_.size(), false);
    while (true) {
      std::vector<std::optional<LockInfo>> holders(hosts_.size());
      const auto taken = fleet_.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
        if (held[i]) return {};
        auto ran = remote.run_script(lock_acquire_script(m_, me_));
        if (ran && ran->exit_status == lock_held_status) {
          auto holder = parse_lock_info(ran->records);
          // Our own machine's crashed run: its process is gone, take the lock over.
          if (holder.owner == me_.owner && !holder.pid.empty() &&
              ::kill(std::stoi(holder.pid), 0) != 0 && errno == ESRCH) {
            ran = remote.run_script(lock_acquire_script(m_, me_, holder.token));
          } else {
            holders[i] = holder;
            return {};
          }
        }
        auto done = script_ok(remote, "taking the lock", ran);
        held[i] = done.has_value();
        return done;
      });
      locked_ = true;  // release whatever we hold from here on
      throw_first(taken);
      std::optional<std::pair<std::string, LockInfo>> busy;
      for (std::size_t i = 0; i < hosts_.size(); ++i) {
        if (holders[i]) busy = {{hosts_[i].name, *holders[i]}};
      }
      if (!busy) return fmt::format("held on {} host(s)", hosts_.size());
      if (Clock::now() >= deadline) {
        const auto& [host, info] = *busy;
        result_.lock_held = true;
        const auto age = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count() -
                         info.started;
        throw Error(fmt::format("{}: the deploy lock is held by {} (pid {}, `berth {}`, started {} s "
                                "ago, expires {} s after its last heartbeat)",
                                host, info.owner, info.pid, info.command, age, info.ttl),
                    ExitCode::lock_held,
                    "wait for it, run with --lock-wait 5m, or `berth lock release` if that run is dead");
      }
      progress(fmt::format("lock: held by {} on {}, waiting", busy->second.owner, busy->first));
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
  }

  void release_lock() {
    if (!locked_) return;
    fleet_.run([&](std::size_t, Remote& remote) -> std::expected<void, Error> {
      return script_ok(remote, "releasing the lock", remote.run_script(lock_release_script(m_, me_.token)));
    });
  }

  const std::vector<manifest::Hook>& hooks_of(playbook::HookKind kind) const {
    switch (kind) {
      case playbook::HookKind::pre_build: return m_.hooks.pre_build;
      case playbook::HookKind::pre_deploy: return m_.hooks.pre_deploy;
      case playbook::HookKind::post_deploy: return m_.hooks.post_deploy;
    }
    return m_.hooks.post_deploy;
  }

  // The manifest's [hooks] of one kind, each a remote or local command step.
  bool hooks(const playbook::Step& s) {
    const auto& list = hooks_of(s.hook);
    if (list.empty()) return true;
    return step(s.name, [&] {
      for (const auto& hook : list) {
        playbook::Step command;
        command.name = fmt::format("{} `{}`", s.name, hook.command);
        command.kind = hook.remote ? StepKind::remote : StepKind::local;
        command.command = hook.command;
        command.role = hook.role;
        common_step(command);
      }
      return fmt::format("{} command(s)", list.size());
    });
  }

  void read_state(std::size_t i, const std::vector<util::Record>& records) {
    for (const auto& [key, value] : state_records(records)) {
      if (key == "live") hosts_[i].live = value == "green" ? Color::green : Color::blue;
      if (key == "current") hosts_[i].current = value;
      if (key == "owed_restart") owed_restart_ = true;
      if (key == "check_token") context_.check_tokens[hosts_[i].name] = value;
      if (key == "node") hosts_[i].node = value;
    }
  }

  std::string ship() {
    const auto& tarball = tarball_;
    std::vector<std::string> lines(hosts_.size());
    const auto dest = fmt::format("{}/releases/{}", layout::app_root(m_), result_.release);
    const auto shipped = fleet_.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
      if (!hosts_[i].app) return {};
      progress(fmt::format("{}: uploading {}", remote.name(), result_.release));
      auto up = remote.upload_tar(tarball, dest);
      if (!up) return std::unexpected(up.error());
      lines[i] = fmt::format("{} {:.1f} MB in {} ms", remote.name(), up->bytes / 1e6, up->duration.count());
      return {};
    });
    if (std::any_of(shipped.begin(), shipped.end(), [](const HostResult& r) { return !r.ok(); })) {
      // Nothing half-shipped stays: the release folder goes on every host (the next
      // deploy's prepare removes what a lost connection keeps from going here).
      fleet_.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
        if (!hosts_[i].app) return {};
        const auto d = util::shell_quote(dest);
        return script_ok(remote, "removing the partial release",
                         remote.run_script(fmt::format("[ -f {0}/.berth-release ] || rm -rf -- {0}\n", d)));
      });
      for (const auto& r : shipped) {
        if (r.error) {
          throw Error(std::string(r.error->what()) + "\nthe partial release was removed; the current release keeps serving",
                      r.error->code(), r.error->hint());
        }
      }
      throw_first(shipped);
    }
    // A proxy server that is no app server: its owed reload and check token.
    const auto states = on_hosts("preparing the release", [&](std::size_t i) {
      return hosts_[i].app ? prepare_script(m_, result_.release) : state_script(m_);
    });
    for (std::size_t i = 0; i < hosts_.size(); ++i) read_state(i, states[i].records);
    result_.previous = first_app().current;
    check_node_engines();
    std::string detail;
    for (const auto& l : lines) {
      if (!l.empty()) detail += (detail.empty() ? "" : "; ") + l;
    }
    return detail;
  }

  // package.json's engines.node against the Node.js of each host: a warning, never a
  // failure (the new instances' checks say whether the app runs).
  void check_node_engines() {
    const auto range = engines_node(build_dir(m_));
    if (!range) return;
    for (const auto& h : hosts_) {
      if (!h.app) continue;
      if (auto warning = node_engines_warning(h.name, h.node, *range, m_.app.run.node)) {
        result_.warnings.push_back(std::move(*warning));
      }
    }
  }

  std::string migrate() {
    if (m_.app.run.migrate.empty()) return "no migrate command";
    const auto command = migrate_command(m_.app.run.migrate);
    // Once, on the first app host, before anything switches.
    on_hosts("the migration `" + command + "`", [&](std::size_t i) {
      return i == apps_.front() ? migrate_script(m_, result_.release, command) : std::string();
    });
    return fmt::format("`{}` on {}", command, first_app().name);
  }

  std::string choose_rollback() {
    std::vector<std::vector<std::string>> releases(hosts_.size());
    std::vector<std::string> served;
    std::string unfinished;  // the target of a rollback cut off before it finished
    const auto states = on_hosts("reading releases", [&](std::size_t) { return state_script(m_, true); });
    for (std::size_t i = 0; i < hosts_.size(); ++i) {
      read_state(i, states[i].records);
      if (!hosts_[i].app) continue;
      for (const auto& [key, value] : state_records(states[i].records)) {
        if (key == "release") releases[i].push_back(value);
        if (key == "served" && i == apps_.front()) served.push_back(value);
        if (key == "rollback" && unfinished.empty()) unfinished = value;
      }
    }
    const auto& first = first_app();
    result_.previous = first.current;
    std::string note;
    if (!options_.target.empty()) {
      result_.release = options_.target;
    } else if (!unfinished.empty()) {
      // Run again after it was cut off, the same command finishes the same rollback
      // (its finalize may have made the target current already): never one further.
      result_.release = unfinished;
      note = ", finishing the interrupted rollback";
    } else {
      // The newest release older than the current one that has served before (one
      // that failed its checks never went live).
      for (const auto& r : served) {
        if (r < first.current) {
          result_.release = r;
          break;
        }
      }
    }
    if (result_.release.empty()) {
      throw Error("no release older than the current one to roll back to", ExitCode::failure,
                  "`berth releases` lists what each host has");
    }
    for (const auto i : apps_) {
      if (std::find(releases[i].begin(), releases[i].end(), result_.release) == releases[i].end()) {
        throw Error(fmt::format("{}: has no release {}", hosts_[i].name, result_.release), ExitCode::failure,
                    "`berth releases` lists what each host has");
      }
    }
    on_hosts("recording the rollback", [&](std::size_t i) {
      return hosts_[i].app ? rollback_intent_script(m_, result_.release) : std::string();
    });
    return fmt::format("{} (current {}{})", result_.release, first.current, note);
  }

  // The live release again (a restart): the same on every host, or an error.
  std::string choose_current() {
    const auto states = on_hosts("reading releases", [&](std::size_t) { return state_script(m_, true); });
    for (std::size_t i = 0; i < hosts_.size(); ++i) read_state(i, states[i].records);
    const auto& first = first_app();
    result_.previous = first.current;
    for (const auto& h : hosts_) {
      if (h.app && h.current != first.current) {
        throw Error(fmt::format("{} runs release {} and {} runs {}: deploy (or roll back) first, so that "
                                "every app host runs the same release",
                                first.name, first.current.empty() ? "none" : first.current, h.name,
                                h.current.empty() ? "none" : h.current));
      }
    }
    if (first.current.empty()) {
      // Nothing serves yet: the first deploy starts the instances with this configuration.
      on_hosts("clearing the owed restart",
               [&](std::size_t i) { return hosts_[i].app ? clear_owed_restart_script(m_) : std::string(); });
      nothing_live_ = true;
      return "no release is live yet: nothing to restart";
    }
    result_.release = first.current;
    return fmt::format("{} (live)", result_.release);
  }

  static Color other(Color c) { return c == Color::blue ? Color::green : Color::blue; }

  // The color a release starts on: the idle one behind a proxy; without a proxy
  // nothing switches between colors (clients reach the app on its port), so the new
  // release restarts the instances in place, on the blue ports.
  Color next(const Host& h) const { return m_.proxy ? other(h.live) : Color::blue; }
  // The color that stops once the release is current: the old one behind a proxy;
  // without one, green (instances an earlier berth left there).
  Color old(const Host& h) const { return m_.proxy ? h.live : Color::green; }

  const Host& first_app() const { return hosts_[apps_.front()]; }

  // Judges the direct probes of new instances against the direct check's conditions.
  std::string judge_probes(std::size_t i, const std::vector<InstanceProbe>& probes) {
    const auto* check = direct_check(m_);
    std::vector<health::Condition> conditions;
    if (check) {
      for (const auto& c : check->conditions) {
        auto parsed = health::parse_condition(c.text);
        // The instances speak plain HTTP (TLS ends at nginx): certificate conditions
        // are judged by the gate through nginx, after the switch.
        if (parsed && !mentions(*parsed, "CERTIFICATE_EXPIRATION")) conditions.push_back(*parsed);
      }
    }
    if (conditions.empty()) conditions.push_back(*health::parse_condition("[STATUS] < 500"));
    std::string failures;
    for (const auto& p : probes) {
      health::Observation o;
      if (p.status > 0) {
        o.status = p.status;
        o.body = p.body;
        o.response_time = p.time;
      }
      o.connected = p.status > 0;
      for (const auto& c : conditions) {
        const auto e = health::evaluate(c, o);
        if (!e.ok) {
          failures += fmt::format("\n  {} port {}: {} (observed {})", hosts_[i].name, p.port,
                                  c.text, p.status > 0 ? e.observed : "no answer");
        }
      }
    }
    return failures;
  }

  std::string start() {
    align_proxies();
    const auto* check = direct_check(m_);
    const auto path = check ? check->url : std::string("/");
    auto results = on_hosts("starting the new instances", [&](std::size_t i) {
      if (!hosts_[i].in_batch) return std::string();
      hosts_[i].started = true;
      return start_script(m_, result_.release, layout::app_ports(m_, next(hosts_[i])), path,
                          options_.start_wait);
    });
    // Direct checks, retried until the gate's deadline: the new release takes no
    // traffic before it passes them.
    const auto deadline = Clock::now() + start_deadline();
    while (true) {
      std::string failures;
      for (std::size_t i = 0; i < hosts_.size(); ++i) {
        if (hosts_[i].in_batch) failures += judge_probes(i, parse_probes(results[i].records));
      }
      if (failures.empty()) break;
      if (Clock::now() >= deadline || (options_.interrupted && options_.interrupted->load())) {
        throw Error("the new instances failed their health check before taking traffic:" + failures);
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
      results = on_hosts("probing the new instances", [&](std::size_t i) {
        if (!hosts_[i].in_batch) return std::string();
        return probe_script(layout::app_ports(m_, next(hosts_[i])), path);
      });
    }
    std::set<std::string> colors;
    for (const auto& h : hosts_) {
      if (h.in_batch) colors.insert(layout::color_name(next(h)));
    }
    if (!m_.proxy) {
      return fmt::format("{} instance(s) per host restarted in place on their ports (no [proxy]: not zero "
                         "downtime), healthy",
                         m_.app.run.instances);
    }
    return fmt::format("{} instance(s) per host on the {} ports, healthy", m_.app.run.instances, fmt::join(colors, " and "));
  }

  // The color whose instances the proxies send app host `h` requests on.
  Color serving(const Host& h) const { return h.switched ? other(h.live) : h.live; }

  // The upstream files of proxy host `i`, from where the app hosts serve: the file of
  // each app host on another host, and its own (the record of its live color) when it
  // is an app host too.
  std::vector<std::pair<std::string, std::string>> proxy_files(std::size_t i) const {
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto k : apps_) {
      const auto& a = hosts_[k];
      const auto ports = layout::app_ports(m_, serving(a));
      if (k == i) {
        files.emplace_back(layout::upstream_file(m_), layout::upstream_content(ports));
      } else {
        files.emplace_back(layout::upstream_fragment(m_, *a.server),
                           layout::upstream_content(a.server->internal_address(), ports));
      }
    }
    return files;
  }

  // Whether a proxy sends requests to another server.
  bool remote_proxies() const {
    return std::any_of(hosts_.begin(), hosts_.end(),
                       [&](const Host& h) { return h.proxy && (apps_.size() > 1 || !h.app); });
  }

  // Before anything starts: every proxy sends each app host's requests to the color
  // that host records as live. A run cut off between the proxies' switch and an app
  // host's record leaves them apart; the instances of the recorded color run (prepare
  // started them), and those of the other color are about to restart.
  void align_proxies() {
    if (aligned_) return;
    aligned_ = true;
    if (!remote_proxies()) return;
    on_hosts("aligning the proxies with the app servers", [&](std::size_t i) {
      return hosts_[i].proxy ? upstream_script(proxy_files(i), true) + "if [ -n \"$changed\" ]; then\n" +
                                   drain_wait_script({}, m_.app.run.drain) + "fi\n"
                             : std::string();
    });
  }

  std::string switch_over() {
    if (!m_.proxy) return "no proxy: the new instances serve on their own ports";
    for (auto& h : hosts_) h.switched = h.switched || h.in_batch;
    // The proxies first; then each app host's record of its live color, so that a run
    // cut off in between leaves the record on the color whose instances keep running.
    on_hosts("switching nginx", [&](std::size_t i) {
      if (!hosts_[i].proxy) return std::string();
      hosts_[i].touched = true;
      return upstream_script(proxy_files(i), true);
    });
    on_hosts("recording the live color", [&](std::size_t i) {
      const auto& h = hosts_[i];
      if (!h.app || h.proxy || !h.in_batch) return std::string();
      return upstream_script({{layout::upstream_file(m_), layout::upstream_content(layout::app_ports(m_, serving(h)))}},
                             false);
    });
    return "nginx upstream points at the new instances";
  }

  std::string finalize() {
    finalizing_ = true;
    auto drain = m_.proxy ? m_.app.run.drain : std::chrono::milliseconds(0);
    // Proxies that send requests to other servers: their old nginx workers finish what
    // they hold first (each app server's own wait sees only its own nginx).
    if (drain.count() > 0 && remote_proxies()) {
      const auto start = Clock::now();
      on_hosts("waiting for nginx's old workers", [&](std::size_t i) {
        return hosts_[i].proxy ? drain_wait_script({}, drain) : std::string();
      });
      drain = std::max(std::chrono::milliseconds(0), drain - since(start));
    }
    on_hosts("making the release current", [&](std::size_t i) {
      if (!hosts_[i].app || hosts_[i].failed) return std::string();
      return finalize_script(m_, result_.release, layout::app_ports(m_, next(hosts_[i])),
                             layout::app_ports(m_, old(hosts_[i])), drain);
    });
    for (auto& h : hosts_) h.started = h.switched = false;
    finalized_ = true;
    return fmt::format("{} is current", result_.release);
  }

  // One round of the switch back: `script(i)` on every host at once, failures kept.
  HostResults undo_round(const std::string& what, const std::string& prelude,
                         const std::function<std::string(std::size_t)>& script, std::vector<std::string>* out = nullptr) {
    return fleet_.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
      const auto text = script(i);
      if (text.empty()) return {};
      const auto ran = remote.run_script(prelude + text);
      if (ran && out) (*out)[i] = ran->out;
      return script_ok(remote, what, ran);
    });
  }

  // Puts every host back as it was: the old color's instances running, every proxy's
  // upstream on them, then the new instances stopped after a drain (their journal kept
  // for the report).
  void undo() { undo_hosts([](const Host&) { return true; }, true); }

  // The same for the app hosts `affected` says (a batch that failed within max_fail):
  // the proxies send their requests to the old instances again, the others' stay.
  // Whether every host was put back.
  bool undo_hosts(const std::function<bool(const Host&)>& affected, bool whole) {
    bool any = false;
    for (const auto& h : hosts_) any = any || (affected(h) && (h.started || h.switched || h.touched));
    if (!any) return true;
    progress("switching back to the previous release");
    std::vector<std::string> journals(hosts_.size());
    const auto prelude = fence();
    std::vector<HostResults> rounds;
    std::vector<bool> recorded(hosts_.size());
    for (std::size_t i = 0; i < hosts_.size(); ++i) {
      recorded[i] = affected(hosts_[i]) && hosts_[i].switched && !hosts_[i].proxy;
    }
    // Finalize may have stopped the old instances and moved `current`.
    rounds.push_back(undo_round("switching back", prelude, [&](std::size_t i) {
      const auto& h = hosts_[i];
      if (!h.switched || !affected(h)) return std::string();
      return serve_again_script(m_, finalizing_ ? result_.previous : std::string(), layout::app_ports(m_, h.live),
                                options_.start_wait);
    }));
    for (auto& h : hosts_) h.switched = h.switched && !affected(h);
    rounds.push_back(undo_round("switching back", prelude, [&](std::size_t i) {
      const auto& h = hosts_[i];
      std::string script;
      if (h.proxy && h.touched) script += upstream_script(proxy_files(i), true);
      if (recorded[i]) {
        script += upstream_script({{layout::upstream_file(m_), layout::upstream_content(layout::app_ports(m_, h.live))}},
                                  false);
      }
      // Finalize may have cleared the restart this run was to pay: the instances
      // serving again started before the configuration changed.
      if (h.app && affected(h) && finalizing_ && owed_restart_) script += owe_restart_script(m_);
      return script;
    }));
    rounds.push_back(undo_round("switching back", prelude, [&](std::size_t i) {
      const auto& h = hosts_[i];
      if (!h.started || !affected(h)) return std::string();
      if (!m_.proxy) {
        // In place: the instances start again on the release that was current (none on
        // a first deploy: they stay stopped).
        const auto previous = finalizing_ ? result_.previous : h.current;
        const auto ports = layout::app_ports(m_, Color::blue);
        auto script = stop_script(m_, ports, 15);
        if (!previous.empty()) script += restart_in_place_script(m_, previous, ports, options_.start_wait);
        return script;
      }
      // Requests in flight at the new instances end before they stop.
      return drain_wait_script(layout::app_ports(m_, other(h.live)), m_.app.run.drain) +
             stop_script(m_, layout::app_ports(m_, other(h.live)), 15);
    }, &journals));
    bool all = true;
    for (auto& h : hosts_) {
      if (affected(h)) {
        h.started = false;
      } else {
        all = all && !h.started && !h.switched;
      }
    }
    // The proxies stay touched while other app servers' requests go to new instances.
    if (all) {
      for (auto& h : hosts_) h.touched = false;
    }
    // Said only when it happened: a host whose connection is gone was not put back.
    bool all_back = true;
    result_.switched_back = whole;
    std::set<std::string> told;
    for (const auto& round : rounds) {
      for (const auto& r : round) {
        if (!r.error) continue;
        result_.switched_back = false;
        all_back = false;
        if (!told.insert(r.host).second) continue;
        result_.error += fmt::format("\nnot switched back: {}\n(`berth health` shows what serves there; "
                                     "`berth plan` shows the work the next run owes)",
                                     r.error->what());
      }
    }
    for (std::size_t i = 0; i < journals.size(); ++i) {
      const auto& j = journals[i];
      // With several app hosts, each line says whose it is.
      const auto prefix = apps_.size() > 1 ? hosts_[i].name + " | " : std::string();
      std::size_t pos = 0;
      while (pos < j.size()) {
        auto eol = j.find('\n', pos);
        if (eol == std::string::npos) eol = j.size();
        if (eol > pos) result_.journal.push_back(prefix + redact(j.substr(pos, eol - pos)));
        pos = eol + 1;
      }
    }
    return all_back;
  }

  Result finish() {
    release_lock();
    return result_;
  }

  const manifest::Manifest& m_;
  const playbook::Playbook& book_;
  Metered fleet_;
  const Options& options_;
  const Callbacks& callbacks_;
  std::vector<Host> hosts_;
  manifest::SecretSources secrets_;
  playbook::Context context_;
  std::filesystem::path tarball_;      // what build packs and ship sends
  LockInfo me_;
  bool locked_ = false;
  bool owed_restart_ = false;  // a host owed the app's restart when this run read its state
  bool finalizing_ = false;  // finalize began: it may have made the release current
  bool finalized_ = false;
  bool nothing_live_ = false;  // `current` found no live release: the run is done
  Result result_;
  std::vector<std::size_t> apps_;  // the app hosts' indices, in order
  std::string batch_label_;        // " (batch 2/3: app2)" while batches run
  bool aligned_ = false;           // the proxies follow the app hosts' records
  bool may_fail_ = false;          // the running batch is within [deploy] max_fail
  bool batch_failed_ = false;      // ... and it failed: go() puts it back alone
  std::vector<std::string> failed_;  // app hosts whose batch failed within max_fail
  std::string batch_errors_;       // what each of those batches failed on
};

}  // namespace

Result run(const manifest::Manifest& m, const playbook::Playbook& book,
           const std::vector<const manifest::Server*>& servers, Hosts& fleet,
           const Options& options, const Callbacks& callbacks) {
  return Run(m, book, servers, fleet, options, callbacks).go();
}

std::vector<HostReleases> list_releases(const manifest::Manifest& m, Hosts& fleet) {
  std::vector<HostReleases> out(fleet.size());
  const auto results = fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
    auto& h = out[i];
    const auto ran = remote.run_script(state_script(m));
    if (auto done = script_ok(remote, "reading the releases", ran, 5); !done) return done;
    for (const auto& [key, value] : state_records(ran->records)) {
      if (key == "live") h.live = value;
      if (key == "current") h.current = value;
      if (key == "release") h.releases.push_back(value);
      if (key == "served") h.served.push_back(value);
    }
    return {};
  });
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].host = results[i].host;
    if (results[i].error) {
      out[i].error = results[i].error->what();
      out[i].hint = results[i].error->hint();
      out[i].unreachable = results[i].unreachable();
    }
  }
  return out;
}

}  // namespace berth::deploy
