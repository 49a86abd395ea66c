// berth logs: the app's journal (every instance, and its jobs with --jobs) on each app
// host, lines prefixed by host; -f follows until Ctrl-C.
#include <cli/cli.hpp>
#include <cli/hosts.hpp>
#include <core/manifest/load.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

#include <memory>

namespace berth::cli {
namespace {

struct LogsFlags {
  int lines = 100;
  bool follow = false;
  bool jobs = false;
  std::string since;
};

int run_logs(const GlobalOptions& global, Ui& ui, const LogsFlags& flags) {
  const auto manifest = manifest::load_or_throw(global.file, global.env);
  auto hosts = open_app_hosts(global, manifest, ui);

  // One journalctl per host over the run's session; the lines stream as they come.
  auto script = fmt::format("exec journalctl --no-pager -o short-iso -n {} -u {}", flags.lines,
                            util::shell_quote(manifest.app.name + "@*.service"));
  if (flags.jobs) script += " -u " + util::shell_quote(manifest.app.name + "-job-*.service");
  if (!flags.since.empty()) script += " --since " + util::shell_quote(flags.since);
  if (flags.follow) script += " --follow";
  script += "\n";

  const auto results = hosts.fleet.run([&](std::size_t, Remote& remote) -> std::expected<void, Error> {
    const auto prefix = ui.bold(remote.name());
    const auto ran = remote.run_script(script, Privilege::root, [&](Stream stream, std::string_view line) {
      if (stream == Stream::out) {
        ui.out(fmt::format("{} | {}", prefix, line));
      } else {
        ui.warn(fmt::format("{}: {}", remote.name(), line));
      }
    });
    return script_ok(remote, "journalctl", ran, 0);
  });
  print_host_errors(ui, results);
  const int status = static_cast<int>(exit_status(results));
  return status;
}

}  // namespace

void add_logs(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "logs",
      "Show the app's journal on each app host (every instance; --jobs adds the scheduled jobs), "
      "lines prefixed by host. -f follows until Ctrl-C. Exit 1 when a host's journal could not "
      "be read, 5 when a host is unreachable.");
  auto flags = std::make_shared<LogsFlags>();
  sub->add_option("-n,--lines", flags->lines, "How many of the last lines to show per host (default 100)")
      ->check(CLI::Range(0, 1000000));
  sub->add_flag("-f,--follow", flags->follow, "Keep printing new lines until Ctrl-C");
  sub->add_flag("--jobs", flags->jobs, "Include the scheduled jobs' runs");
  sub->add_option("--since", flags->since, "Only lines since then (journalctl's --since: \"1 hour ago\", \"2026-11-25 10:00\")");
  on_run(sub, cli, [&cli, flags](Ui& ui) { return run_logs(cli.global, ui, *flags); });
}

}  // namespace berth::cli
