// berth deploy and berth rollback: the release playbooks deploy and rollback
// (zero-downtime releases gated on health, core/deploy/deploy.hpp) under the deploy
// lock, and the report of each step. `berth run` of a release playbook lands here too.
#include <cli/cli.hpp>
#include <cli/hosts.hpp>
#include <cli/playbook_command.hpp>
#include <core/deploy/deploy.hpp>
#include <core/manifest/load.hpp>
#include <core/util/duration.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <memory>

namespace berth::cli {
namespace {

std::atomic<bool> interrupted{false};

void on_deploy_signal(int) { interrupted.store(true); }

std::chrono::milliseconds duration_flag(const std::string& flag, const std::string& text) {
  const auto d = util::parse_duration(text);
  if (!d) throw Error(fmt::format("{} '{}' is not a duration (e.g. 90s, 5m)", flag, text), ExitCode::usage);
  return *d;
}

int run_deploy(const GlobalOptions& global, Ui& ui, const std::string& name, const ReleaseFlags& flags) {
  // Load the manifest and the playbook (the project's playbooks/NAME.toml or the built-in one).
  const auto manifest = manifest::load_or_throw(global.file, global.env);
  return run_release_command(global, ui, manifest, playbook::load_playbook(manifest.dir, name), flags);
}

}  // namespace

ReleaseReport run_release(const GlobalOptions& global, Ui& ui, const manifest::Manifest& manifest,
                          const playbook::Playbook& book, const ReleaseFlags& flags) {
  // Select and connect the app hosts, and the proxies that switch to them.
  auto hosts = open_release_hosts(global, manifest, ui);

  deploy::Options options;
  options.target = flags.target;
  options.lock_wait = std::chrono::duration_cast<std::chrono::seconds>(duration_flag("--lock-wait", flags.lock_wait));
  if (!flags.gate_deadline.empty()) options.gate_deadline = duration_flag("--gate-deadline", flags.gate_deadline);
  options.interrupted = &interrupted;
  // Ctrl-C or a TERM lets the current step end, then puts the previous release back.
  std::signal(SIGINT, on_deploy_signal);
  std::signal(SIGTERM, on_deploy_signal);

  deploy::Callbacks callbacks;
  callbacks.progress = [&ui](std::string_view line) { ui.progress(line); };
  callbacks.output = [&ui](std::string_view line) { ui.detail(line); };
  ReleaseReport report;
  report.result = deploy::run(manifest, book, hosts.servers, hosts.fleet, options, callbacks);
  for (const auto* s : hosts.servers) {
    report.hosts.push_back(s->name);
    if (s->has_role("app")) ++report.app_hosts;
  }
  return report;
}

nlohmann::json release_json(const playbook::Playbook& book, const ReleaseReport& report) {
  const auto& result = report.result;
  const auto& verb = book.name;
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : result.steps) {
    nlohmann::json hosts = nlohmann::json::array();
    for (const auto& h : s.hosts) {
      hosts.push_back({{"host", h.host}, {"elapsed_ms", h.elapsed.count()}, {"execs", h.execs}});
    }
    steps.push_back({{"name", s.name},
                     {"ok", s.ok},
                     {"elapsed_ms", s.elapsed.count()},
                     {"detail", s.detail},
                     {"hosts", hosts}});
  }
  return {{"command", verb == "deploy" || verb == "rollback" ? verb : std::string("run")},
          {"playbook", verb},
          {"ok", result.ok},
          {"release", result.release},
          {"previous", result.previous},
          {"hosts", report.hosts},
          {"steps", steps},
          {"switched_back", result.switched_back},
          {"error", result.error.empty() ? nlohmann::json() : nlohmann::json(result.error)},
          {"journal", result.journal},
          {"warnings", result.warnings}};
}

int print_release(Ui& ui, const playbook::Playbook& book, const ReleaseReport& report) {
  const auto& result = report.result;
  const auto& verb = book.name;
  if (!ui.json()) {
    std::size_t width = 14;  // batched steps name their batch: "start (batch 2/3: app2)"
    for (const auto& s : result.steps) width = std::max(width, s.name.size());
    for (const auto& s : result.steps) {
      ui.out(fmt::format("{} {:<{}} {:>6.1f} s  {}", s.ok ? ui.green("ok") : ui.red("!!"), s.name, width,
                         s.elapsed.count() / 1000.0, s.ok ? s.detail : ""));
      // -v: each host's share (its remote commands and uploads).
      if (ui.verbosity() != Verbosity::verbose) continue;
      for (const auto& h : s.hosts) {
        ui.out(ui.dim(fmt::format("   {:<{}} {:>6.1f} s  {} command(s)", h.host, width, h.elapsed.count() / 1000.0,
                                  h.execs)));
      }
    }
    if (result.ok && !result.release.empty()) {
      ui.out(ui.bold(fmt::format("{} {} is live on {} app host(s)", verb, result.release, report.app_hosts)));
    }
  }
  for (const auto& w : result.warnings) ui.warn(w);
  if (!result.ok) {
    std::string message = fmt::format("{} failed: {}", verb, result.error);
    if (result.switched_back) message += "\nswitched back: the previous release keeps serving";
    if (!result.journal.empty()) {
      message += "\nlast lines of the new instances' journal:";
      for (const auto& line : result.journal) message += "\n  " + line;
    }
    ui.error(message);
    if (result.lock_held) return static_cast<int>(ExitCode::lock_held);
    if (result.unreachable) return static_cast<int>(ExitCode::unreachable);
    return static_cast<int>(ExitCode::failure);
  }
  return 0;
}

int run_release_command(const GlobalOptions& global, Ui& ui, const manifest::Manifest& manifest,
                        const playbook::Playbook& book, const ReleaseFlags& flags) {
  const auto report = run_release(global, ui, manifest, book, flags);
  if (ui.json()) ui.emit_json(release_json(book, report));
  return print_release(ui, book, report);
}

void add_release_flags(CLI::App* sub, ReleaseFlags& flags) {
  sub->add_option("--lock-wait", flags.lock_wait,
                  "When another run holds the deploy lock, wait this long for it (default 0s: fail "
                  "at once, naming the holder)");
  sub->add_option("--gate-deadline", flags.gate_deadline,
                  "How long the new release has to pass its health checks (default: the playbook's "
                  "health step deadline, 60s in the built-in ones)");
}

void add_deploy(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "deploy",
      "Run the deploy playbook (playbooks/deploy.toml next to berth.toml, else the built-in one): "
      "build the app locally ([app.build] command), pack it, ship it to every app host, run the "
      "migration once, start it on the idle blue/green ports, check the new instances directly, "
      "switch every proxy's nginx to them, gate on the [[health]] checks (switching back when they "
      "fail), then make it current and stop the old instances. With [deploy] batch, start, switch "
      "and gate go through the app servers a batch at a time; a failed batch puts every one back. "
      "Without [proxy], the instances restart in place on their port (not zero downtime). Holds the "
      "deploy lock on every app and proxy host. Warns (and goes on) when an app host's Node.js is "
      "outside package.json's engines.node.");
  auto flags = std::make_shared<ReleaseFlags>();
  add_release_flags(sub, *flags);
  on_run(sub, cli, [&cli, flags](Ui& ui) { return run_deploy(cli.global, ui, "deploy", *flags); });
}

void add_rollback(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "rollback",
      "Run the rollback playbook (playbooks/rollback.toml, else the built-in one): switch back "
      "to the previous release (or RELEASE) through the same steps as a deploy: start it on the "
      "idle ports, check, switch, gate, make current. No build, no migration.");
  auto flags = std::make_shared<ReleaseFlags>();
  sub->add_option("RELEASE", flags->target, "The release to go back to (default: the one before current)");
  add_release_flags(sub, *flags);
  on_run(sub, cli, [&cli, flags](Ui& ui) { return run_deploy(cli.global, ui, "rollback", *flags); });
}

}  // namespace berth::cli
