// berth health: run the health checks and report them: a table per host and check,
// or one JSON document with --json; --watch re-runs and prints only transitions.
// Exit 0 when every check passes, 1 when any fails.
#include <cli/cli.hpp>
#include <core/error.hpp>
#include <core/health/check.hpp>
#include <core/health/report.hpp>
#include <core/manifest/load.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <memory>
#include <thread>

namespace berth::cli {

namespace {

struct HealthOptions {
  double watch = 0;                      // seconds between rounds; 0: one round
  int rounds = 0;                        // with --watch: stop after this many; 0: never
  std::vector<std::string> only;
};

volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_interrupt(int) { interrupted = 1; }

// The server-side checks (units, timers, ports, disk...) come from the converge
// engine's probe (issue 9); until it is wired here, berth health runs the manifest's
// checks from this machine only.
health::ServerChecks server_checks(const manifest::Manifest&, const GlobalOptions&) { return {}; }

int exit_status(const std::vector<health::CheckResult>& results) {
  const bool ok = std::all_of(results.begin(), results.end(), [](const auto& r) { return r.ok; });
  return static_cast<int>(ok ? ExitCode::ok : ExitCode::failure);
}

// Waits `d`, returning early (false) when interrupted.
bool wait(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    if (interrupted) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(100), end - std::chrono::steady_clock::now()));
  }
  return !interrupted;
}

int run_health(const GlobalOptions& g, const HealthOptions& o, Ui& ui) {
  // Load the manifest and turn its [[health]] checks into probes.
  const auto m = manifest::load_or_throw(g.file, g.env);
  const auto checks = health::plan_local_checks(m, {g.hosts, g.roles, o.only});
  const auto server = server_checks(m, g);
  if (checks.empty() && !server) ui.warn(fmt::format("{} has no [[health]] checks", g.file));

  // One round: print the table or the document, exit 0/1.
  if (o.watch <= 0) {
    ui.progress(fmt::format("running {} health check{}", checks.size(), checks.size() == 1 ? "" : "s"));
    const auto results = health::run_round(checks, server);
    if (ui.json()) {
      ui.emit_json(health::report_json(results, std::chrono::system_clock::now()));
    } else {
      for (const auto& line : health::render_table(results, ui)) ui.out(line);
    }
    return exit_status(results);
  }

  // --watch: every round, print only the checks whose state changed.
  interrupted = 0;
  const auto previous_handler = std::signal(SIGINT, on_interrupt);
  const auto interval = std::chrono::milliseconds(static_cast<long long>(o.watch * 1000));
  std::vector<health::CheckResult> last;
  int status = 0;
  for (int round = 1; o.rounds == 0 || round <= o.rounds; ++round) {
    const auto started = std::chrono::steady_clock::now();
    auto results = health::run_round(checks, server);
    const auto at = std::chrono::system_clock::now();
    for (const auto& t : health::transitions(last, results)) {
      if (ui.json()) {
        ui.emit_json(health::transition_json(t, at));
      } else {
        ui.out(health::render_transition(t, at, ui));
      }
    }
    status = exit_status(results);
    last = std::move(results);
    if (o.rounds != 0 && round == o.rounds) break;
    const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    if (!wait(std::max(std::chrono::milliseconds(0), interval - spent))) break;
  }
  std::signal(SIGINT, previous_handler);
  return status;
}

}  // namespace

void add_health(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand("health", "Run the health checks: a table per host and check (docs/health.md)");
  auto options = std::make_shared<HealthOptions>();
  sub->add_option("--watch", options->watch, "Re-run every SECONDS and print only the checks that change")
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber);
  sub->add_option("--rounds", options->rounds, "With --watch: stop after N rounds (default: until Ctrl-C)")
      ->check(CLI::PositiveNumber)
      ->needs("--watch");
  sub->add_option("--only", options->only, "Only the checks with this name (repeatable, or a,b)")
      ->type_name("NAME")
      ->delimiter(',');
  sub->footer("Exit status: 0 when every check passes, 1 when any fails.");
  on_run(sub, cli, [&cli, options](Ui& ui) { return run_health(cli.global, *options, ui); });
}

}  // namespace berth::cli
