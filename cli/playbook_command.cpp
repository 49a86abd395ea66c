#include <cli/hosts.hpp>
#include <cli/playbook_command.hpp>
#include <core/health/report.hpp>
#include <core/manifest/load.hpp>
#include <core/manifest/values.hpp>
#include <core/playbook/run.hpp>
#include <provisioners/provisioner.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>

namespace berth::cli {

using converge::Action;
using converge::HostReport;
using converge::Mode;
using converge::Outcome;
using playbook::StepKind;
using playbook::StepReport;

namespace {

const char* action_name(Action action) {
  switch (action) {
    case Action::none: return "none";
    case Action::create: return "create";
    case Action::update: return "update";
  }
  return "?";
}

const char* kind_name(StepKind kind) {
  switch (kind) {
    case StepKind::converge: return "converge";
    case StepKind::remote: return "remote";
    case StepKind::local: return "local";
    case StepKind::health: return "health";
    case StepKind::release: return "release";
    case StepKind::hooks: return "hooks";
  }
  return "?";
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(separator)) + p;
  return out;
}

nlohmann::json host_json(const HostReport& host, Mode mode) {
  nlohmann::json resources = nlohmann::json::array();
  for (const auto& r : host.resources) {
    nlohmann::json item = {{"id", r.id},
                           {"kind", r.kind},
                           {"component", r.component},
                           {"action", action_name(r.action)},
                           {"status", converge::outcome_name(r.outcome)},
                           {"reasons", r.reasons}};
    if (!r.diff.empty()) item["diff"] = r.diff;
    if (mode == Mode::apply && r.action != Action::none) item["elapsed_ms"] = r.elapsed.count();
    resources.push_back(std::move(item));
  }
  nlohmann::json handlers = nlohmann::json::array();
  for (const auto& h : host.handlers) {
    handlers.push_back({{"name", h.name},
                        {"owed", h.owed},
                        {"deferred", h.deferred},
                        {"status", converge::outcome_name(h.outcome)}});
    if (mode == Mode::apply && !h.deferred) handlers.back()["elapsed_ms"] = h.elapsed.count();
  }
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& s : host.stages) stages.push_back({{"stage", s.stage}, {"elapsed_ms", s.elapsed.count()}});
  nlohmann::json out = {{"host", host.host},
                        {"ok", host.count(Outcome::ok)},
                        {mode == Mode::plan ? "to_change" : "changed", host.count(Outcome::changed)},
                        {"failed", host.count(Outcome::failed)},
                        {"skipped", host.count(Outcome::skipped)},
                        {"execs", host.execs},
                        {"elapsed_ms", host.elapsed.count()},
                        {"resources", std::move(resources)},
                        {"handlers", std::move(handlers)}};
  if (mode == Mode::apply) out["stages"] = std::move(stages);
  if (host.failed()) {
    out["error"] = {{"message", host.error}, {"step", host.failed_step}, {"stderr", host.stderr_tail}};
    if (!host.hint.empty()) out["error"]["hint"] = host.hint;
  }
  return out;
}

nlohmann::json step_json(const StepReport& step, Mode mode) {
  nlohmann::json out = {{"name", step.name},
                        {"kind", kind_name(step.kind)},
                        {"ok", step.ok},
                        {"ran", step.ran},
                        {"elapsed_ms", step.elapsed.count()}};
  if (!step.error.empty()) out["error"] = step.error;
  if (!step.hosts.empty()) {
    out["hosts"] = nlohmann::json::array();
    for (const auto& h : step.hosts) out["hosts"].push_back(host_json(h, mode));
  }
  if (!step.commands.empty()) {
    out["commands"] = nlohmann::json::array();
    for (const auto& c : step.commands) {
      out["commands"].push_back({{"host", c.host},
                                 {"exit_status", c.exit_status},
                                 {"elapsed_ms", c.elapsed.count()},
                                 {"error", c.error}});
    }
  }
  if (step.gate) {
    out["gate"] = {{"passed", step.gate->passed},
                   {"rounds", step.gate->rounds},
                   {"elapsed_ms", step.gate->elapsed.count()},
                   {"checks", nlohmann::json::array()}};
    for (const auto& c : step.gate->last) out["gate"]["checks"].push_back(health::check_json(c));
  }
  return out;
}

void print_diff(Ui& ui, const std::string& diff) {
  std::size_t start = 0;
  while (start < diff.size()) {
    auto end = diff.find('\n', start);
    if (end == std::string::npos) end = diff.size();
    const auto line = diff.substr(start, end - start);
    const auto painted = line.starts_with("+") && !line.starts_with("+++") ? ui.green(line)
                         : line.starts_with("-") && !line.starts_with("---") ? ui.red(line)
                                                                              : ui.dim(line);
    ui.out("      " + painted);
    start = end + 1;
  }
}

// A host's failure on stderr, the host named once, with the stderr tail and the hint.
void print_host_error(Ui& ui, const HostReport& host) {
  std::string message = util::about(host.host, host.error);
  if (!host.stderr_tail.empty()) message += "\n" + host.stderr_tail;
  ui.error(message, host.hint);
}

void print_plan(Ui& ui, const HostReport& host) {
  if (host.failed()) {
    ui.out(ui.red(fmt::format("{}: not planned: {} failed", host.host, host.failed_step)));
    print_host_error(ui, host);
    return;
  }
  // The app's restart that follows counts as a change too.
  ui.out(ui.bold(fmt::format("{}: {} to change, {} unchanged", host.host,
                             host.count(Outcome::changed) + static_cast<int>(host.deferred().size()),
                             host.count(Outcome::ok))));
  for (const auto& h : host.handlers) {
    const auto why = h.deferred ? std::string("then the live release starts again on the idle color, gated on health") : std::string();
    const auto owed = h.owed ? std::string("owed by an interrupted run") : std::string();
    ui.out(fmt::format("  {} {}{}", ui.yellow("~"), h.name,
                       ui.dim("  (" + owed + (owed.empty() || why.empty() ? "" : "; ") + why + ")")));
  }
  for (const auto& r : host.resources) {
    if (r.action == Action::none) continue;
    const auto mark = r.action == Action::create ? ui.green("+") : ui.yellow("~");
    ui.out(fmt::format("  {} {}{}", mark, r.id,
                       r.reasons.empty() ? "" : ui.dim("  (" + join(r.reasons, ", ") + ")")));
    if (!r.diff.empty()) print_diff(ui, r.diff);
  }
}

void print_applied(Ui& ui, const HostReport& host) {
  const auto line = fmt::format("{}: ok={} changed={} failed={} ({:.1f} s, {} exec{})", host.host,
                                host.count(Outcome::ok), host.count(Outcome::changed),
                                host.count(Outcome::failed), host.elapsed.count() / 1000.0,
                                host.execs, host.execs == 1 ? "" : "s");
  ui.out(host.failed()                       ? ui.red(line)
         : host.count(Outcome::changed) > 0 ? ui.yellow(line)
                                            : ui.green(line));
  for (const auto& r : host.resources) {
    if (r.outcome == Outcome::changed) ui.detail(fmt::format("  changed {}", r.id));
  }
  for (const auto& h : host.handlers) {
    if (h.outcome == Outcome::changed) ui.detail(fmt::format("  ran {}{}", h.name, h.owed ? " (owed)" : ""));
  }
  if (host.failed()) {
    // What took effect before the failure: a run cut off halfway says so.
    std::string done;
    for (const auto& r : host.resources) {
      if (r.outcome == Outcome::changed) done += (done.empty() ? "" : ", ") + r.id;
    }
    for (const auto& h : host.handlers) {
      if (h.outcome == Outcome::changed) done += (done.empty() ? "" : ", ") + h.name;
    }
    print_host_error(ui, host);
    if (!done.empty()) ui.error(fmt::format("{}: changed before the failure: {}", host.host, done));
  }
}

void print_step(Ui& ui, const StepReport& step, Mode mode, bool many_steps) {
  if (many_steps) {
    const auto status = !step.ran ? ui.dim("would run") : step.ok ? ui.green("ok") : ui.red("failed");
    ui.out(fmt::format("== {} ({}): {} ({:.1f} s)", step.name, kind_name(step.kind), status,
                       step.elapsed.count() / 1000.0));
  }
  for (const auto& host : step.hosts) mode == Mode::plan ? print_plan(ui, host) : print_applied(ui, host);
  if (!step.ok && step.hosts.empty()) ui.error(step.error);
}

}  // namespace

int run_playbook_command(const GlobalOptions& global, Ui& ui, const std::string& name, Mode mode,
                         DetailedExitCode detailed, const ReleaseFlags* release_flags) {
  return run_playbook_command(global, ui, manifest::load_or_throw(global.file, global.env), name, mode, detailed,
                              release_flags);
}

int run_playbook_command(const GlobalOptions& global, Ui& ui, const manifest::Manifest& manifest,
                         const std::string& name, Mode mode, DetailedExitCode detailed,
                         const ReleaseFlags* release_flags, std::optional<ReleaseReport>* restart_out) {
  // Load the playbook, select the hosts.
  const auto book = playbook::load_playbook(manifest.dir, name);
  if (book.is_release()) {
    if (mode == Mode::plan) {
      throw Error(fmt::format("playbook '{}' ships or switches releases: it cannot be planned", name),
                  ExitCode::usage, "`berth plan` shows what setup would change; `berth releases` what each host has");
    }
    return run_release_command(global, ui, manifest, book, release_flags ? *release_flags : ReleaseFlags{});
  }
  auto hosts = open_hosts(global, manifest, ui);
  manifest::SecretSources secrets(manifest);

  // Run the steps in order; each connects the hosts it needs on first use.
  playbook::Context context{manifest, hosts.servers, hosts.fleet, secrets, mode, {}, {}, {}};
  context.progress = [&ui](std::string_view line) { ui.progress(line); };
  context.detail = [&ui](std::string_view line) { ui.detail(line); };
  context.env = {{"BERTH_APP", manifest.app.name}, {"BERTH_PLAYBOOK", name}};
  context.desired = [&](const manifest::Server& server, const std::vector<std::string>& components,
                        const debian::Release& release) {
    auto desired = provisioners::desired_state(manifest, server, secrets, components, release);
    if (release_flags && release_flags->change_host_settings) provisioners::take_host_settings(manifest, desired);
    return desired;
  };
  const auto steps = playbook::run_playbook(book, context);

  // Report.
  bool ok = true, unreachable = false, changes = false;
  std::vector<std::string> restart_hosts;  // app hosts whose instances must start again
  for (const auto& step : steps) {
    ok = ok && step.ok;
    unreachable = unreachable || step.unreachable;
    for (const auto& h : step.hosts) {
      const auto deferred = h.deferred();
      changes = changes || h.count(Outcome::changed) > 0 || !deferred.empty();
      if (!deferred.empty() &&
          std::find(restart_hosts.begin(), restart_hosts.end(), h.host) == restart_hosts.end()) {
        restart_hosts.push_back(h.host);
      }
    }
  }
  // What changed what the app's instances start with is applied as a release is: the
  // live release starts again on the idle color, is checked, switched to and gated
  // (playbooks/restart.toml), never restarted in place.
  std::optional<ReleaseReport> restart;
  std::optional<playbook::Playbook> restart_book;
  int restart_status = 0;
  if (mode == Mode::apply && ok && !restart_hosts.empty()) {
    restart_book = playbook::load_playbook(manifest.dir, "restart");
    if (!ui.json()) {
      for (const auto& step : steps) print_step(ui, step, mode, book.steps.size() > 1);
      ui.out(ui.bold(fmt::format("== restart ({}): the app's environment or unit changed; the live release "
                                 "starts again on the idle color, gated on health",
                                 join(restart_hosts, ", "))));
    }
    auto only = global;
    only.hosts = restart_hosts;
    only.roles.clear();
    restart = run_release(only, ui, manifest, *restart_book, release_flags ? *release_flags : ReleaseFlags{});
    if (!ui.json()) restart_status = print_release(ui, *restart_book, *restart);
  }
  if (ui.json()) {
    nlohmann::json json_steps = nlohmann::json::array();
    nlohmann::json json_hosts = nlohmann::json::array();
    for (const auto& step : steps) {
      json_steps.push_back(step_json(step, mode));
      for (const auto& h : step.hosts) json_hosts.push_back(host_json(h, mode));
    }
    nlohmann::json doc = {{"command", mode == Mode::plan ? "plan" : name == "setup" ? "setup" : "run"},
                          {"playbook", name},
                          {"ok", ok && (!restart || restart->result.ok)},
                          {"changes", changes},
                          {"hosts", std::move(json_hosts)},
                          {"steps", std::move(json_steps)}};
    if (restart) {
      doc["restart"] = release_json(*restart_book, *restart);
      restart_status = print_release(ui, *restart_book, *restart);
    }
    ui.emit_json(doc);
  } else if (!restart) {
    for (const auto& step : steps) print_step(ui, step, mode, book.steps.size() > 1);
  }
  if (restart_out != nullptr) *restart_out = restart;
  if (!ok) return static_cast<int>(unreachable ? ExitCode::unreachable : ExitCode::failure);
  if (restart_status != 0) return restart_status;
  if (changes && mode == Mode::plan && detailed == DetailedExitCode::yes) {
    return static_cast<int>(ExitCode::changes_pending);
  }
  return 0;
}

}  // namespace berth::cli
