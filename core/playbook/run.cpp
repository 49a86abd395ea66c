#include <core/util/clock.hpp>
#include <core/health/check.hpp>
#include <core/layout/claims.hpp>
#include <core/layout/layout.hpp>
#include <core/playbook/run.hpp>
#include <core/util/duration.hpp>
#include <core/util/process.hpp>

#include <core/util/text.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace berth::playbook {
namespace {

using util::since;

using Clock = std::chrono::steady_clock;


// `export NAME='value'` lines for the BERTH_* variables, prepended to remote commands.
std::string exports(const std::map<std::string, std::string>& env) {
  std::string out;
  for (const auto& [name, value] : env) out += fmt::format("export {}={}\n", name, util::shell_quote(value));
  return out;
}

// "`COMMAND` exited with status N", then the output's last lines when there are some.
std::string exit_error(const std::string& command, int status, const std::string& tail) {
  auto error = fmt::format("`{}` exited with status {}", command, status);
  if (!tail.empty()) error += "\n" + tail;
  return error;
}

// A step failed on the hosts whose result is not ok: the first one's error is the
// step's, an unreachable host marks the step unreachable.
void note_results(const HostResults& results, StepReport& report) {
  for (const auto& r : results) {
    if (r.ok()) continue;
    report.ok = false;
    report.unreachable = report.unreachable || r.unreachable();
    if (report.error.empty()) {
      report.error = r.error ? r.error->what() : util::about(r.host, "skipped (--fail-fast)");
    }
  }
}

void run_converge(const Step& step, Context& context, StepReport& report) {
  // Desired state per host: pure and local, so a missing secret fails before any change.
  if (!context.desired) throw Error("a converge step needs the provisioners (Context::desired)", ExitCode::internal);
  // It is computed for the release the server ran when last probed from here (else
  // Debian 12), and again for the hosts whose probe says they run another supported
  // one, before they are probed again.
  std::vector<converge::Desired> desired;
  const auto hint_key = [](const manifest::Server& s) { return fmt::format("{}:{}", s.address, s.port); };
  for (const auto* server : context.servers) {
    const auto hint = debian::remembered(hint_key(*server));
    desired.push_back(context.desired(*server, step.components, hint ? *hint : debian::assumed()));
  }
  report.hosts.resize(context.servers.size());
  const auto progress = [&](const Remote& remote) {
    return [&context, name = remote.name()](std::string_view what) {
      if (context.progress) context.progress(fmt::format("{}: {}", name, what));
    };
  };
  // Every host is probed before any is changed: a secret one server makes and
  // others use gets one value for all of them (converge/engine.hpp).
  std::vector<converge::ProbedHost> probed(context.servers.size());
  std::vector<bool> other_release(context.servers.size(), false);
  const auto probe = [&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
    probed[i] = converge::probe_host(remote, desired[i], progress(remote));
    auto& host = probed[i].report;
    if (!host.failed()) {
      // A server berth does not support is refused here, before anything changes.
      const auto os = debian::identify(probed[i].probe.facts["os"]);
      if (!os.release) {
        host.error = os.problem;
        host.failed_step = "probe";
      } else if (os.release->number != desired[i].release.number) {
        other_release[i] = true;
        desired[i].release = *os.release;
      } else if (!desired[i].claim.empty()) {
        // Other apps on the server: a manifest that cannot live next to them changes nothing.
        const auto refused = layout::refusal(
            desired[i].claim, context.manifest.app.name, context.manifest.path.string(), probed[i].probe.dir_files,
            desired[i].take_host_settings ? layout::HostSettings::take : layout::HostSettings::compare);
        if (!refused.empty()) {
          host.error = refused;
          host.failed_step = "probe";
          probed[i].refused = true;
        }
      }
    }
    if (host.failed()) return std::unexpected(Error(util::about(remote.name(), host.error)));
    return {};
  };
  auto results = context.fleet.run(probe);
  if (std::any_of(other_release.begin(), other_release.end(), [](bool b) { return b; })) {
    for (std::size_t i = 0; i < desired.size(); ++i) {
      if (other_release[i]) desired[i] = context.desired(*context.servers[i], step.components, desired[i].release);
    }
    const auto again = context.fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
      if (!other_release[i]) return {};
      const auto execs = probed[i].execs_before;
      const auto start = probed[i].start;
      auto done = probe(i, remote);
      // One probe as far as the report goes: its time and execs include the first.
      probed[i].execs_before = execs;
      probed[i].start = start;
      return done;
    });
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (!other_release[i]) continue;
      results[i] = again[i];
      if (again[i].ok()) debian::remember(hint_key(*context.servers[i]), desired[i].release.number);
    }
  }
  // A host whose state refuses the manifest (an expectation) stops every host's apply.
  const bool stop = (context.fleet.fail_fast() &&
                     std::any_of(results.begin(), results.end(), [](const HostResult& r) { return !r.ok(); })) ||
                    std::any_of(probed.begin(), probed.end(), [](const converge::ProbedHost& p) { return p.refused; });
  if (!stop) {
    std::vector<const converge::Desired*> wanted;
    std::vector<const converge::ProbedHost*> seen;
    for (std::size_t i = 0; i < desired.size(); ++i) {
      wanted.push_back(&desired[i]);
      seen.push_back(results[i].ok() ? &probed[i] : nullptr);
    }
    const auto secrets = converge::resolve_secrets(wanted, seen);
    results = context.fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
      report.hosts[i] = converge::apply_host(
          remote, desired[i], std::move(probed[i]), secrets, context.mode, progress(remote),
          [&](std::string_view line) {
            if (context.detail) context.detail(fmt::format("{} | {}", remote.name(), line));
          });
      if (report.hosts[i].failed()) {
        return std::unexpected(Error(util::about(remote.name(), report.hosts[i].error)));
      }
      return {};
    });
  } else {
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (results[i].ok()) results[i].skipped = true;
      else if (probed[i].report.failed()) report.hosts[i] = std::move(probed[i].report);
    }
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    auto& host = report.hosts[i];
    const auto& r = results[i];
    if (r.unreachable()) {
      host.host = r.host;
      host.error = r.error->what();
      host.hint = r.error->hint();
      host.failed_step = "connect";
    } else if (r.skipped) {
      host.host = r.host;
      host.error = "skipped: another host failed (--fail-fast)";
      host.failed_step = "none";
    }
    if (host.failed()) {
      report.ok = false;
      if (report.error.empty()) report.error = util::about(host.host, host.error);
    }
  }
  note_results(results, report);
}

void run_remote(const Step& step, Context& context, StepReport& report) {
  report.commands.resize(context.servers.size());
  std::string prefix = exports(context.env) + layout::export_live_port(context.manifest);
  if (!context.remote_cwd.empty()) prefix += "cd " + util::shell_quote(context.remote_cwd) + " 2>/dev/null\n";
  const auto results = context.fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
    auto& out = report.commands[i];
    out.host = remote.name();
    if (!context.servers[i]->has_role(step.role)) {
      out.exit_status = 0;
      return {};
    }
    const auto start = Clock::now();
    if (context.progress) context.progress(fmt::format("{}: {}", remote.name(), step.name));
    const auto script = prefix + exports({{"BERTH_HOST", remote.name()}}) + step.command + "\n";
    const auto result = remote.run_script(script, Privilege::root, [&](Stream, std::string_view line) {
      if (context.detail) context.detail(fmt::format("{} | {}", remote.name(), line));
    });
    out.elapsed = since(start);
    if (result) out.exit_status = result->exit_status;
    auto done = script_ok(remote, "`" + step.command + "`", result);
    if (!done) out.error = done.error().what();
    return done;
  });
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (report.commands[i].host.empty()) report.commands[i].host = results[i].host;
    if (results[i].error && report.commands[i].error.empty()) report.commands[i].error = results[i].error->what();
  }
  note_results(results, report);
}

void run_local(const Step& step, Context& context, StepReport& report) {
  const auto start = Clock::now();
  if (context.progress) context.progress(fmt::format("local: {}", step.name));
  ProcessOptions options;
  options.cwd = context.manifest.dir;
  options.env = context.env;
  const auto result = run_process_streaming(
      {"/bin/sh", "-c", step.command},
      [&](OutputStream, std::string_view line) {
        if (context.detail) context.detail(fmt::format("local | {}", line));
      },
      options);
  CommandReport out{"local", -1, {}, since(start)};
  if (!result) {
    out.error = result.error().what();
  } else {
    out.exit_status = result->exit_code;
    if (!result->ok()) {
      out.error = exit_error(step.command, result->exit_code, result->tail(10));
    }
  }
  if (!out.error.empty()) {
    report.ok = false;
    report.error = "local: " + out.error;
  }
  report.commands.push_back(std::move(out));
}

void run_health(const Step& step, Context& context, StepReport& report) {
  health::Selection selection;
  for (const auto* s : context.servers) selection.hosts.push_back(s->name);
  selection.check_tokens = context.check_tokens;
  const auto checks = health::plan_local_checks(context.manifest, selection);
  const auto deadline = util::parse_duration(step.deadline);
  if (!deadline) {
    throw Error(fmt::format("playbook step '{}': deadline '{}' is not a duration", step.name,
                            step.deadline));
  }
  const auto policy = health::gate_policy(checks, *deadline);
  health::SteadyClock clock;
  report.gate = health::run_gate(
      [&] { return health::run_round(checks, {}); }, policy, clock,
      [&](int round, const std::vector<health::CheckResult>& results) {
        const auto failing = std::count_if(results.begin(), results.end(),
                                           [](const health::CheckResult& r) { return !r.ok; });
        if (context.progress) {
          context.progress(fmt::format("health: round {}: {} of {} checks pass", round,
                                       results.size() - static_cast<std::size_t>(failing),
                                       results.size()));
        }
      });
  if (!report.gate->passed) {
    report.ok = false;
    std::string failing;
    for (const auto& r : report.gate->last) {
      if (r.ok) continue;
      for (const auto& c : r.conditions) {
        if (!c.ok) failing += fmt::format("\n  {} {}: {} (observed {})", r.host, r.name, c.condition, c.observed);
      }
      if (!r.error.empty()) failing += fmt::format("\n  {} {}: {}", r.host, r.name, r.error);
    }
    report.error = fmt::format("health checks did not pass within {}:{}", step.deadline, failing);
  }
}

}  // namespace

StepReport run_step(const Step& step, Context& context) {
  StepReport report;
  report.name = step.name;
  report.kind = step.kind;
  const auto start = Clock::now();
  if (context.mode == converge::Mode::plan && step.kind != StepKind::converge) {
    report.ran = false;
  } else {
    switch (step.kind) {
      case StepKind::converge: run_converge(step, context, report); break;
      case StepKind::remote: run_remote(step, context, report); break;
      case StepKind::local: run_local(step, context, report); break;
      case StepKind::health: run_health(step, context, report); break;
      case StepKind::release:
      case StepKind::hooks:
        throw Error(fmt::format("playbook step '{}' is a release step: it runs with `berth deploy`, "
                                "`berth rollback` or `berth run` of a release playbook",
                                step.name));
    }
  }
  report.elapsed = since(start);
  return report;
}

std::vector<StepReport> run_playbook(const Playbook& book, Context& context) {
  if (book.is_release()) {
    throw Error(fmt::format("playbook '{}' ships or switches releases: it runs under the deploy lock "
                            "(core/deploy), not as a setup playbook",
                            book.name));
  }
  std::vector<StepReport> reports;
  for (const auto& step : book.steps) {
    reports.push_back(run_step(step, context));
    if (!reports.back().ok) break;
  }
  return reports;
}

}  // namespace berth::playbook
