#pragma once

// What every command of the berth CLI shares: the global options and the action the
// chosen subcommand sets. Each cli/cmd_*.cpp file adds one command with add_*().

#include <core/output/ui.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace berth::cli {

struct GlobalOptions {
  std::string file = "berth.toml";
  std::string env;                      // -e NAME: merge berth.NAME.toml over the base
  bool json = false;
  bool quiet = false;
  bool verbose = false;
  bool no_color = false;
  std::vector<std::string> hosts;       // --hosts a,b
  std::vector<std::string> roles;       // --role app
  int parallel = 32;
  bool accept_new_host_keys = false;
  bool fail_fast = false;
};

// The parsed command line: the options, and what to run once parsing is done.
struct Cli {
  GlobalOptions global;
  // Set by the chosen subcommand's callback; returns the process exit status.
  std::function<int(Ui&)> action;
  // The words after the first `--`, verbatim, and where the chosen subcommand wants
  // them (add_command_words); none wants them: a usage error.
  std::vector<std::string> command_words;
  std::vector<std::string>* command_target = nullptr;
};

// Makes `sub` set cli.action to `run` when it is the chosen subcommand.
void on_run(CLI::App* sub, Cli& cli, std::function<int(Ui&)> run);

// Whether the person at the terminal agrees to `question` (y/N); false when stdin or
// stderr is not a terminal (a command then needs --yes).
bool confirmed(const std::string& question);

// Adds positional COMMAND to `sub`, stored in `into`; the words after `--` are added
// to it verbatim (CLI11 would read `[ -f x ]` as a bracketed list and split it).
void add_command_words(CLI::App* sub, Cli& cli, std::vector<std::string>& into, const std::string& help);


void add_init(CLI::App& app, Cli& cli);
void add_check(CLI::App& app, Cli& cli);
void add_schema(CLI::App& app, Cli& cli);
void add_plan(CLI::App& app, Cli& cli);
void add_setup(CLI::App& app, Cli& cli);
void add_deploy(CLI::App& app, Cli& cli);
void add_rollback(CLI::App& app, Cli& cli);
void add_releases(CLI::App& app, Cli& cli);
void add_health(CLI::App& app, Cli& cli);
void add_logs(CLI::App& app, Cli& cli);
void add_exec(CLI::App& app, Cli& cli);
void add_run(CLI::App& app, Cli& cli);
void add_jobs(CLI::App& app, Cli& cli);
void add_db(CLI::App& app, Cli& cli);
void add_lock(CLI::App& app, Cli& cli);
void add_maintenance(CLI::App& app, Cli& cli);
void add_destroy(CLI::App& app, Cli& cli);
void add_sandbox(CLI::App& app, Cli& cli);
void add_version(CLI::App& app, Cli& cli);

}  // namespace berth::cli
