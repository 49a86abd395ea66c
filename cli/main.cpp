// berth: parse the command line, run the chosen command, map errors to exit codes.
#include <cli/cli.hpp>
#include <core/error.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string_view>
#include <vector>

namespace berth::cli {

void on_run(CLI::App* sub, Cli& cli, std::function<int(Ui&)> run) {
  sub->callback([&cli, run = std::move(run)] { cli.action = run; });
}

bool confirmed(const std::string& question) {
  if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) return false;
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

void add_command_words(CLI::App* sub, Cli& cli, std::vector<std::string>& into, const std::string& help) {
  sub->add_option("command", into, help);
  sub->parse_complete_callback([&cli, &into] { cli.command_target = &into; });
}

namespace {

void add_global_options(CLI::App& app, GlobalOptions& g) {
  app.add_option("-f,--file", g.file, "The manifest (default: ./berth.toml)");
  app.add_option("-e,--env", g.env, "Merge berth.NAME.toml over the manifest (staging, production)");
  app.add_flag("--json", g.json, "Print one JSON document on stdout instead of text");
  app.add_flag("-q,--quiet", g.quiet, "Print no progress, only results and errors");
  app.add_flag("-v,--verbose", g.verbose, "Print details: scripts run, timings");
  app.add_flag("--no-color", g.no_color, "No colors (also when NO_COLOR is set)");
  app.add_option("--hosts", g.hosts, "Only these servers (names of [servers.*])")->delimiter(',');
  app.add_option("--role", g.roles, "Only servers with this role (db, app, proxy, backup)")->delimiter(',');
  app.add_option("--parallel", g.parallel, "Hosts worked on at once (default 32)")
      ->check(CLI::Range(1, 1024));
  app.add_flag("--accept-new-host-keys", g.accept_new_host_keys,
               "Record unknown host keys in known_hosts (a changed key is always an error)");
  app.add_flag("--fail-fast", g.fail_fast, "Stop all hosts when one fails");
}

int run_main(int argc, char** argv) {
  Cli cli;
  CLI::App app{"berth: deploy and operate a web backend on your own VPS, over SSH.", "berth"};
  app.fallthrough();
  app.require_subcommand(1);
  app.footer(std::string("\n") + exit_code_help +
             "\nRun `berth COMMAND --help` for a command's options. Docs: docs/manifest.md");
  add_global_options(app, cli.global);

  add_init(app, cli);
  add_check(app, cli);
  add_schema(app, cli);
  add_plan(app, cli);
  add_setup(app, cli);
  add_deploy(app, cli);
  add_rollback(app, cli);
  add_releases(app, cli);
  add_health(app, cli);
  add_logs(app, cli);
  add_exec(app, cli);
  add_run(app, cli);
  add_jobs(app, cli);
  add_db(app, cli);
  add_lock(app, cli);
  add_maintenance(app, cli);
  add_destroy(app, cli);
  add_sandbox(app, cli);
  add_version(app, cli);

  // The words after the first `--` are a command's, verbatim: CLI11 never sees them.
  std::vector<char*> args(argv, argv + argc);
  const auto dashes = std::find_if(args.begin() + 1, args.end(),
                                   [](const char* a) { return std::string_view(a) == "--"; });
  if (dashes != args.end()) {
    cli.command_words.assign(dashes + 1, args.end());
    args.erase(dashes, args.end());
  }
  try {
    app.parse(static_cast<int>(args.size()), args.data());
    if (!cli.command_words.empty()) {
      if (cli.command_target == nullptr) {
        throw CLI::ExtrasError(cli.command_words);
      }
      cli.command_target->insert(cli.command_target->end(), cli.command_words.begin(),
                                 cli.command_words.end());
    }
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return static_cast<int>(ExitCode::usage);
  }

  // One connection per server stays open for the run: a fleet larger than the usual
  // soft limit of 1024 descriptors needs the hard limit (often 524288).
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  const auto& g = cli.global;
  Ui ui(g.json, g.quiet ? Verbosity::quiet : g.verbose ? Verbosity::verbose : Verbosity::normal,
        detect_color(g.no_color));
  try {
    return cli.action(ui);
  } catch (const Error& e) {
    ui.error(e.what(), e.hint());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    ui.error(std::string("internal error: ") + e.what());
    return static_cast<int>(ExitCode::internal);
  }
}

}  // namespace
}  // namespace berth::cli

int main(int argc, char** argv) { return berth::cli::run_main(argc, argv); }
