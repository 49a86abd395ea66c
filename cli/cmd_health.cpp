// berth health: run the health checks (the manifest's, from here, and the built-in
// server-side ones, one exec per host) and report them: a table per host and check,
// or one JSON document with --json; --watch re-runs and prints only transitions.
// Exit 0 when every check passes, 1 when any fails, 5 when a server was unreachable.
#include <cli/cli.hpp>
#include <cli/hosts.hpp>
#include <core/error.hpp>
#include <core/health/check.hpp>
#include <core/health/report.hpp>
#include <core/health/server.hpp>
#include <core/layout/layout.hpp>
#include <core/maintenance.hpp>
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
  bool local = false;                    // only the manifest's checks, from here: no SSH
};

volatile std::sig_atomic_t watch_interrupted = 0;

extern "C" void on_interrupt(int) { watch_interrupted = 1; }

// The built-in server-side checks of the selected servers (core/health/server.hpp):
// one script per host and round over the run's one session per host, hosts in
// parallel; a host that could not be probed is connected again next round (--watch)
// and sets `unreachable` when it could not be connected; with `report_errors`, each
// round prints why a host failed on stderr. Returns an empty function when --only
// leaves no server-side check.
health::ServerChecks server_checks(std::shared_ptr<Selection> hosts, std::vector<health::ServerPlan> plans, Ui& ui,
                                   std::shared_ptr<bool> unreachable, bool report_errors) {
  const bool any = std::any_of(plans.begin(), plans.end(),
                               [](const auto& p) { return !p.checks.empty() || p.certificates; });
  if (!any) return {};
  auto shared = std::make_shared<std::vector<health::ServerPlan>>(std::move(plans));
  return [hosts, shared, unreachable, &ui, report_errors]() {
    const auto& each = *shared;
    std::vector<std::vector<health::CheckResult>> per_host(each.size());
    const auto results = hosts->fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
      per_host[i] = health::run_server_checks(remote, each[i]);
      return {};
    });
    if (report_errors) print_host_errors(ui, results);
    std::vector<health::CheckResult> out;
    *unreachable = false;
    for (std::size_t i = 0; i < each.size(); ++i) {
      bool probed = true;
      if (results[i].unreachable()) {
        const auto& e = *results[i].error;
        std::string why = e.what();
        if (!e.hint().empty()) why += " (" + e.hint() + ")";
        out.push_back(health::server_unreachable(each[i].host, std::move(why)));
        *unreachable = true;
        probed = false;
      }
      for (auto& r : per_host[i]) {
        probed = probed && r.kind != "server";  // the script could not run: connection lost
        out.push_back(std::move(r));
      }
      if (!probed) hosts->fleet.forget(i);
    }
    return out;
  };
}

int exit_status(const std::vector<health::CheckResult>& results, bool unreachable) {
  const bool ok = std::all_of(results.begin(), results.end(), [](const auto& r) { return r.ok; });
  if (ok) return static_cast<int>(ExitCode::ok);
  return static_cast<int>(unreachable ? ExitCode::unreachable : ExitCode::failure);
}

// For --watch: adds to a round's `results` what it cannot say itself. A host's
// `server` check exists only while the host cannot be probed: when it is gone again,
// it passed. Checks a round did not run (a host was unreachable) keep their last
// known state, so that they do not come back as "new".
void carry_over(const std::vector<health::CheckResult>& last, std::vector<health::CheckResult>& results) {
  const auto size = results.size();
  for (const auto& before : last) {
    const auto same = [&](const health::CheckResult& r) { return r.host == before.host && r.name == before.name; };
    if (std::any_of(results.begin(), results.begin() + static_cast<std::ptrdiff_t>(size), same)) continue;
    auto kept = before;
    if (kept.kind == "server") {
      if (kept.ok) continue;
      kept.ok = true;
      kept.error.clear();
    }
    results.push_back(std::move(kept));
  }
}

// Waits `d`, returning early (false) when interrupted.
bool wait(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    if (watch_interrupted) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(100), end - std::chrono::steady_clock::now()));
  }
  return !watch_interrupted;
}

int run_health(const GlobalOptions& g, const HealthOptions& o, Ui& ui) {
  // Load the manifest and turn its [[health]] checks into probes.
  const auto m = manifest::load_or_throw(g.file, g.env);
  // The built-in server-side checks of every selected server, and their names for --only.
  std::vector<health::ServerPlan> plans;
  std::vector<std::string> builtin_names;
  std::vector<const manifest::Server*> servers;
  if (!o.local) servers = manifest::select_servers(m, g.hosts, g.roles);
  for (const auto* server : servers) {
    for (const auto& c : health::plan_server_checks(m, *server).checks) builtin_names.push_back(c.name);
    plans.push_back(health::plan_server_checks(m, *server, o.only));
  }
  std::sort(builtin_names.begin(), builtin_names.end());
  builtin_names.erase(std::unique(builtin_names.begin(), builtin_names.end()), builtin_names.end());
  // The servers' one connection each, for the token of berth's checks through nginx
  // (they pass maintenance and basic auth with it) and the server-side checks.
  std::shared_ptr<Selection> hosts;
  if (!servers.empty()) hosts = std::make_shared<Selection>(open_hosts(g, m, ui));
  health::Selection selection{g.hosts, g.roles, o.only, builtin_names, {}};
  const bool relative = std::any_of(m.health.begin(), m.health.end(), health::checks_each_server);
  if (hosts && m.proxy && relative) {
    std::vector<std::string> tokens(hosts->servers.size());
    std::vector<bool> maintenance(hosts->servers.size());
    const auto script = layout::record_check_token(m) + maintenance::status_script(m);
    // A server that cannot be read here is reported by the round's own checks.
    hosts->fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
      if (!hosts->servers[i]->has_role("proxy")) return {};
      const auto ran = remote.run_script(script);
      if (!ran) return std::unexpected(ran.error());
      for (const auto& r : ran->records) {
        if (r.subject == "state" && r.field == "check_token") tokens[i] = r.value;
        if (r.subject == "maintenance" && r.field == "state") maintenance[i] = r.value == "on";
      }
      return {};
    });
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (!tokens[i].empty()) selection.check_tokens[hosts->servers[i]->name] = tokens[i];
      if (maintenance[i]) {
        ui.warn(fmt::format("{}: maintenance is on: visitors get the 503 page; these checks pass it "
                            "(berth maintenance off ends it)",
                            hosts->servers[i]->name));
      }
    }
  }
  const auto checks = health::plan_local_checks(m, selection);
  auto unreachable = std::make_shared<bool>(false);
  const auto server = hosts ? server_checks(hosts, std::move(plans), ui, unreachable, o.watch <= 0 && !ui.json())
                            : health::ServerChecks{};
  if (checks.empty() && !server) ui.warn(fmt::format("{} has no [[health]] checks", g.file));

  // One round: print the table or the document, exit 0/1.
  if (o.watch <= 0) {
    ui.progress(fmt::format("running {} health check{}{}", checks.size(), checks.size() == 1 ? "" : "s",
                            server ? " and the server-side checks" : ""));
    const auto results = health::run_round(checks, server);
    if (ui.json()) {
      ui.emit_json(health::report_json(results, std::chrono::system_clock::now()));
    } else {
      for (const auto& line : health::render_table(results, ui)) ui.out(line);
    }
    return exit_status(results, *unreachable);
  }

  // --watch: every round, print only the checks whose state changed.
  watch_interrupted = 0;
  const auto previous_handler = std::signal(SIGINT, on_interrupt);
  const auto interval = std::chrono::milliseconds(static_cast<long long>(o.watch * 1000));
  std::vector<health::CheckResult> last;
  int status = 0;
  for (int round = 1; o.rounds == 0 || round <= o.rounds; ++round) {
    const auto started = std::chrono::steady_clock::now();
    auto results = health::run_round(checks, server);
    carry_over(last, results);
    const auto at = std::chrono::system_clock::now();
    for (const auto& t : health::transitions(last, results)) {
      if (ui.json()) {
        ui.emit_json(health::transition_json(t, at));
      } else {
        ui.out(health::render_transition(t, at, ui));
      }
    }
    status = exit_status(results, *unreachable);
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
  auto* sub = app.add_subcommand(
      "health",
      "Run the health checks: the manifest's from here, and the built-in ones on each server "
      "(units, databases, timers, ports, disk, memory, load, certificates; one exec per host). "
      "Checks through nginx carry berth's check token: they pass maintenance, allowlists and basic auth. "
      "A table per host and check (docs/health.md)");
  auto options = std::make_shared<HealthOptions>();
  sub->add_option("--watch", options->watch, "Re-run every SECONDS and print only the checks that change")
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber);
  sub->add_option("--rounds", options->rounds, "With --watch: stop after N rounds (default: until Ctrl-C)")
      ->check(CLI::PositiveNumber)
      ->needs("--watch");
  sub->add_option("--only", options->only, "Only the checks with this name, or of this kind: unit, app, timer, db, disk, cert... (repeatable, or a,b)")
      ->type_name("NAME")
      ->delimiter(',');
  sub->add_flag("--local", options->local,
                "Only the manifest's [[health]] checks, run from here: no SSH, no built-in server-side checks");
  sub->footer("Exit status: 0 when every check passes, 1 when any fails, 5 when a server could not "
              "be reached (with --watch: of the last round; an unreachable server is retried each round).");
  on_run(sub, cli, [&cli, options](Ui& ui) { return run_health(cli.global, *options, ui); });
}

}  // namespace berth::cli
