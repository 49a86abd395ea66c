// berth exec: run a shell command on the selected hosts, in parallel, over one SSH
// session per host; output streams prefixed by host, then a status per host.
#include <cli/cli.hpp>
#include <cli/hosts.hpp>
#include <core/exit_code.hpp>
#include <core/manifest/load.hpp>
#include <core/ssh/pool.hpp>
#include <core/ssh/text.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>

namespace berth::cli {

namespace {

struct ExecOptions {
  std::vector<std::string> command;
  std::string upload;  // LOCAL:REMOTE_DIR
};

// What happened on one host.
struct HostReport {
  std::optional<ScriptResult> result;
  std::optional<UploadResult> upload;
  std::optional<Error> error;  // connect, upload or transport failure
};

std::string join(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& word : words) text += (text.empty() ? "" : " ") + word;
  return text;
}

nlohmann::json to_json(const ssh::Target& target, const HostReport& report, bool skipped) {
  nlohmann::json host = {{"name", target.name}, {"address", target.address}};
  const bool ok = !skipped && !report.error && report.result && report.result->exit_status == 0;
  host["ok"] = ok;
  host["skipped"] = skipped;
  if (report.result) {
    host["exit_status"] = report.result->exit_status;
    host["signal"] = report.result->signal.empty() ? nlohmann::json() : nlohmann::json(report.result->signal);
    host["stdout"] = report.result->out;
    host["stderr"] = report.result->err;
    host["duration_ms"] = report.result->duration.count();
  }
  if (report.upload) {
    const auto& u = *report.upload;
    host["upload"] = {{"bytes", u.bytes},
                      {"sha1", u.sha1},
                      {"duration_ms", u.duration.count()},
                      {"mb_per_s", u.duration.count() > 0
                                       ? static_cast<double>(u.bytes) / 1e3 / u.duration.count()
                                       : 0.0}};
  }
  if (report.error) {
    host["error"] = {{"message", report.error->what()}, {"hint", report.error->hint()}};
  }
  return host;
}

int run_exec(Ui& ui, const GlobalOptions& g, const ExecOptions& options) {
  // Load the manifest and select the hosts.
  const auto manifest = manifest::load_or_throw(g.file, g.env);
  auto selected = open_hosts(g, manifest, ui);
  auto& fleet = selected.fleet;
  const auto script = join(options.command);
  std::string local, remote_dir;
  if (!options.upload.empty()) {
    const auto colon = options.upload.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == options.upload.size()) {
      throw Error("--upload wants LOCAL:REMOTE_DIR, e.g. ./dist:/srv/app/incoming",
                  ExitCode::usage);
    }
    local = options.upload.substr(0, colon);
    remote_dir = options.upload.substr(colon + 1);
  }
  if (script.empty() && local.empty()) {
    throw Error("nothing to run: give a command after --, e.g. berth exec -- uptime",
                ExitCode::usage);
  }

  // Connect (one session per host) and run, hosts in parallel.
  std::vector<HostReport> reports(fleet.size());
  const auto started = std::chrono::steady_clock::now();
  const auto results = fleet.run([&](std::size_t i, Remote& session) -> std::expected<void, Error> {
    auto& report = reports[i];
    const auto& name = session.name();
    if (!local.empty()) {
      auto uploaded = session.upload_tar(local, remote_dir);
      if (!uploaded) return std::unexpected(uploaded.error());
      report.upload = *uploaded;
      ui.progress(fmt::format("{}: uploaded {:.1f} MB into {} in {} ms ({})", name,
                              uploaded->bytes / 1e6, remote_dir, uploaded->duration.count(),
                              ssh::throughput(uploaded->bytes, uploaded->duration)));
      if (script.empty()) return {};
    }
    const auto prefix = ui.bold(name);
    auto result = session.run_script(script, Privilege::root,
                                     [&](Stream stream, std::string_view line) {
                                       if (stream == Stream::out) {
                                         ui.out(fmt::format("{} | {}", prefix, line));
                                       } else {
                                         ui.progress(fmt::format("{} {} {}", prefix,
                                                                 ui.red("!"), line));
                                       }
                                     });
    if (result) report.result = *result;
    return script_ok(session, "the command", result, 0);
  });
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  // A command that ran and exited non-zero says so in its status line; the other
  // failures (connect, upload, transport) are errors.
  for (std::size_t i = 0; i < reports.size(); ++i) {
    if (!reports[i].result && results[i].error) reports[i].error = results[i].error;
  }

  // Report: a status per host, errors with their hints, and the exit status.
  nlohmann::json hosts = nlohmann::json::array();
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& target = fleet.target(i);
    const auto& report = reports[i];
    const bool skipped = results[i].skipped;
    hosts.push_back(to_json(target, report, skipped));
    if (ui.json()) continue;
    if (skipped) {
      ui.out(fmt::format("{}: {} (--fail-fast)", target.name, ui.yellow("skipped")));
    } else if (report.error) {
      ui.out(fmt::format("{}: {}", target.name, ui.red(results[i].unreachable() ? "unreachable" : "failed")));
    } else if (report.result) {
      const auto& r = *report.result;
      const auto status = r.signal.empty() ? fmt::format("exit {}", r.exit_status)
                                           : fmt::format("killed by signal {}", r.signal);
      ui.out(fmt::format("{}: {} ({} ms)", target.name,
                         r.exit_status == 0 ? ui.green(status) : ui.red(status),
                         r.duration.count()));
    } else {
      ui.out(fmt::format("{}: {}", target.name, ui.green("uploaded")));
    }
  }
  for (std::size_t i = 0; i < reports.size(); ++i) {
    if (reports[i].error) ui.error(util::about(results[i].host, reports[i].error->what()), reports[i].error->hint());
  }
  const auto status = exit_status(results);
  if (ui.json()) {
    ui.emit_json({{"ok", status == ExitCode::ok}, {"duration_ms", elapsed.count()}, {"hosts", hosts}});
  }
  return static_cast<int>(status);
}

}  // namespace

void add_exec(CLI::App& app, Cli& cli) {
  auto options = std::make_shared<ExecOptions>();
  auto* sub = app.add_subcommand(
      "exec",
      "Run a shell command on the selected hosts (all, or --hosts/--role), in parallel: "
      "as root (through sudo -n when the server's user is not root and become is set), the "
      "command written to /bin/sh on stdin. Output streams as `HOST | line` (stdout) and "
      "`HOST ! line` (stderr, on stderr), then one status line per host. Exit 0 when every "
      "host exited 0, 1 when one failed, 5 when one could not be reached.");
  add_command_words(sub, cli, options->command, "The shell command (put it after --)");
  sub->add_option("--upload", options->upload,
                  "Developer/benchmark aid: before the command, stream LOCAL (a directory or "
                  "a tar file) into REMOTE_DIR on each host through `tar -x`, checksummed, "
                  "and print the throughput")
      ->type_name("LOCAL:REMOTE_DIR");
  sub->footer(
      "Examples:\n"
      "  berth exec -- uptime\n"
      "  berth exec --role app -- 'systemctl status myapp --no-pager'\n"
      "--json prints {\"ok\", \"duration_ms\", \"hosts\": [{\"name\", \"address\", \"ok\", "
      "\"skipped\", \"exit_status\", \"signal\", \"stdout\", \"stderr\", \"duration_ms\", "
      "\"upload\", \"error\": {\"message\", \"hint\"}}]}.");
  on_run(sub, cli, [&cli, options](Ui& ui) { return run_exec(ui, cli.global, *options); });
}

}  // namespace berth::cli
