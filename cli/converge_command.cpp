#include <cli/converge_command.hpp>
#include <cli/hosts.hpp>
#include <core/manifest/load.hpp>
#include <core/manifest/values.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>

namespace berth::cli {

using converge::Action;
using converge::HostReport;
using converge::Mode;
using converge::Outcome;

namespace {

const char* action_name(Action action) {
  switch (action) {
    case Action::none: return "none";
    case Action::create: return "create";
    case Action::update: return "update";
  }
  return "?";
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(separator)) + p;
  return out;
}

nlohmann::json to_json(const HostReport& host, Mode mode) {
  nlohmann::json resources = nlohmann::json::array();
  for (const auto& r : host.resources) {
    nlohmann::json item = {{"id", r.id},
                           {"kind", r.kind},
                           {"component", r.component},
                           {"action", action_name(r.action)},
                           {"status", converge::outcome_name(r.outcome)},
                           {"reasons", r.reasons}};
    if (!r.diff.empty()) item["diff"] = r.diff;
    resources.push_back(std::move(item));
  }
  nlohmann::json out = {{"host", host.host},
                        {"ok", host.count(Outcome::ok)},
                        {mode == Mode::plan ? "to_change" : "changed", host.count(Outcome::changed)},
                        {"failed", host.count(Outcome::failed)},
                        {"skipped", host.count(Outcome::skipped)},
                        {"execs", host.execs},
                        {"elapsed_ms", host.elapsed.count()},
                        {"resources", std::move(resources)}};
  if (host.failed()) {
    out["error"] = {{"message", host.error}, {"step", host.failed_step}, {"stderr", host.stderr_tail}};
  }
  return out;
}

void print_plan(Ui& ui, const HostReport& host) {
  const auto changes = host.count(Outcome::changed);
  ui.out(ui.bold(fmt::format("{}: {} to change, {} unchanged", host.host, changes,
                             host.count(Outcome::ok))));
  for (const auto& r : host.resources) {
    if (r.action == Action::none) continue;
    const auto mark = r.action == Action::create ? ui.green("+") : ui.yellow("~");
    ui.out(fmt::format("  {} {}{}", mark, r.id,
                       r.reasons.empty() ? "" : ui.dim("  (" + join(r.reasons, ", ") + ")")));
    if (!r.diff.empty()) {
      std::size_t start = 0;
      while (start < r.diff.size()) {
        auto end = r.diff.find('\n', start);
        if (end == std::string::npos) end = r.diff.size();
        const auto line = r.diff.substr(start, end - start);
        const auto painted = line.starts_with("+") && !line.starts_with("+++") ? ui.green(line)
                             : line.starts_with("-") && !line.starts_with("---") ? ui.red(line)
                                                                                  : ui.dim(line);
        ui.out("      " + painted);
        start = end + 1;
      }
    }
  }
}

void print_setup(Ui& ui, const HostReport& host) {
  const auto line = fmt::format("{}: ok={} changed={} failed={} ({:.1f} s, {} exec{})", host.host,
                                host.count(Outcome::ok), host.count(Outcome::changed),
                                host.count(Outcome::failed), host.elapsed.count() / 1000.0,
                                host.execs, host.execs == 1 ? "" : "s");
  ui.out(host.failed() ? ui.red(line) : host.count(Outcome::changed) ? ui.yellow(line) : ui.green(line));
  for (const auto& r : host.resources) {
    if (r.outcome == Outcome::changed) ui.detail(fmt::format("  changed {}", r.id));
  }
}

}  // namespace

int run_converge(const GlobalOptions& global, Ui& ui, Mode mode, DetailedExitCode detailed) {
  // Load the manifest and select the hosts.
  const auto manifest = manifest::load_or_throw(global.file, global.env);
  auto hosts = open_hosts(global, manifest, ui);
  manifest::SecretSources secrets(manifest);

  // Desired state per host: pure, local, before any connection (fails early on a
  // missing secret).
  std::vector<provisioners::Desired> desired;
  for (const auto* server : hosts.servers) {
    desired.push_back(provisioners::desired_state(manifest, *server, secrets));
  }

  // Connect, probe, plan, apply: hosts in parallel.
  std::vector<HostReport> reports(hosts.servers.size());
  const auto outcomes = hosts.fleet.run([&](std::size_t i, ssh::Session& session) {
    reports[i] = converge::converge_host(
        session, desired[i], mode,
        [&](std::string_view what) { ui.progress(fmt::format("{}: {}", session.name(), what)); },
        [&](std::string_view line) { ui.detail(fmt::format("{} | {}", session.name(), line)); });
    return !reports[i].failed();
  });

  // Report.
  int status = 0;
  bool changes = false;
  nlohmann::json json_hosts = nlohmann::json::array();
  for (std::size_t i = 0; i < reports.size(); ++i) {
    auto& report = reports[i];
    const auto& connect_error = hosts.fleet.connect_error(i);
    if (connect_error) {
      report.host = hosts.servers[i]->name;
      report.error = connect_error->what();
      report.failed_step = "connect";
    } else if (outcomes[i] == ssh::Outcome::skipped) {
      report.host = hosts.servers[i]->name;
      report.error = "skipped after another host failed (--fail-fast)";
      report.failed_step = "none";
    }
    changes = changes || report.count(Outcome::changed) > 0;
    if (report.failed()) {
      status = std::max(status, connect_error ? static_cast<int>(ExitCode::unreachable) : 1);
    }
    if (ui.json()) {
      json_hosts.push_back(to_json(report, mode));
    } else {
      mode == Mode::plan ? print_plan(ui, report) : print_setup(ui, report);
      if (report.failed()) {
        ui.error(fmt::format("{}: {}", report.host, report.error),
                 connect_error ? connect_error->hint() : std::string());
        if (!report.stderr_tail.empty()) ui.out(ui.dim(report.stderr_tail));
      }
    }
  }
  if (ui.json()) {
    ui.emit_json({{"command", mode == Mode::plan ? "plan" : "setup"},
                  {"ok", status == 0},
                  {"changes", changes},
                  {"hosts", std::move(json_hosts)}});
  }
  if (status == 0 && changes && mode == Mode::plan && detailed == DetailedExitCode::yes) {
    return static_cast<int>(ExitCode::changes_pending);
  }
  return status;
}

}  // namespace berth::cli
