// Commands whose issue is not done yet: they are listed so that `berth --help` shows
// the whole tool, and they exit 3 saying so instead of pretending to work. A command
// moves to its own cli/cmd_NAME.cpp when it is implemented.
#include <cli/cli.hpp>
#include <core/exit_code.hpp>

#include <fmt/format.h>

namespace berth::cli {
namespace {

void add_pending(CLI::App& app, Cli& cli, const char* name, const char* what) {
  auto* sub = app.add_subcommand(name, fmt::format("{} (not implemented yet)", what));
  sub->allow_extras();
  on_run(sub, cli, [name](Ui& ui) {
    ui.error(fmt::format("`berth {}` is not implemented yet", name));
    return static_cast<int>(ExitCode::not_implemented);
  });
}

}  // namespace

void add_init(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "init", "Write a commented starter berth.toml");
}
void add_check(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "check", "Validate the manifest offline");
}
void add_schema(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "schema", "Print the JSON Schema of the manifest");
}
void add_plan(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "plan", "Show what setup would change on each host");
}
void add_setup(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "setup", "Provision the servers: base, databases, app, proxy, jobs");
}
void add_deploy(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "deploy", "Build, ship and switch to a new release with zero downtime");
}
void add_rollback(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "rollback", "Switch back to the previous or a named release");
}
void add_releases(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "releases", "List the releases on each host");
}
void add_health(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "health", "Check the servers and the app");
}
void add_logs(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "logs", "Show the app's journal");
}
void add_exec(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "exec", "Run a shell command on the selected hosts");
}
void add_run(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "run", "Run a playbook");
}
void add_jobs(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "jobs", "List scheduled jobs or run one now");
}
void add_db(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "db", "Back up or restore a database");
}
void add_lock(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "lock", "Show or release the deploy lock");
}
void add_sandbox(CLI::App& app, Cli& cli) {
  add_pending(app, cli, "sandbox", "Local throwaway test hosts (systemd-nspawn)");
}

}  // namespace berth::cli
