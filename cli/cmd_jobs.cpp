// berth jobs: each [[jobs]] entry's last run, result and next run on each host
// (systemctl show of its timer and service); `berth jobs run NAME` runs one now on
// the host(s) whose timer is enabled, waits for it and prints what it logged.
#include <cli/cli.hpp>
#include <cli/hosts.hpp>
#include <core/error.hpp>
#include <core/jobs/jobs.hpp>
#include <core/manifest/load.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <memory>
#include <optional>

namespace berth::cli {
namespace {

nlohmann::json or_null(const std::string& text) {
  return text.empty() ? nlohmann::json() : nlohmann::json(text);
}

const char* timer_state(const jobs::Status& s) {
  return !s.installed ? "missing" : s.enabled ? "enabled" : "disabled";
}

// The status of `units` on every host of `hosts` (units[i] for host i), one exec each.
// Hosts with no unit are not contacted; results[i] says why host i failed.
std::vector<std::vector<jobs::Status>> query_status(Selection& hosts,
                                                    const std::vector<std::vector<std::string>>& units,
                                                    HostResults& results) {
  std::vector<std::vector<jobs::Status>> out(hosts.servers.size());
  results = hosts.fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
    if (units[i].empty()) return {};
    const auto ran = remote.run_script(jobs::status_script(units[i]));
    if (auto done = script_ok(remote, "reading the jobs' units", ran); !done) return done;
    out[i] = jobs::parse_status(ran->records);
    if (out[i].size() != units[i].size()) {
      return std::unexpected(Error(remote.name() + ": reading the jobs' units: the report is incomplete"));
    }
    return {};
  });
  return out;
}

// berth jobs: a row per host and job.
int run_list(const GlobalOptions& global, Ui& ui) {
  // Load the manifest; select the servers that run any job.
  const auto m = manifest::load_or_throw(global.file, global.env);
  if (m.jobs.empty()) {
    ui.warn(fmt::format("{} has no [[jobs]]", global.file));
    if (ui.json()) ui.emit_json({{"hosts", nlohmann::json::array()}});
    return 0;
  }
  auto selection = global;
  if (selection.roles.empty()) {
    for (const auto& job : m.jobs) {
      if (std::find(selection.roles.begin(), selection.roles.end(), job.role) ==
          selection.roles.end()) {
        selection.roles.push_back(job.role);
      }
    }
  }
  auto hosts = open_hosts(selection, m, ui);

  // Query each host's job units: the jobs whose role it has.
  std::vector<std::vector<const manifest::Job*>> host_jobs(hosts.servers.size());
  std::vector<std::vector<std::string>> units(hosts.servers.size());
  for (std::size_t i = 0; i < hosts.servers.size(); ++i) {
    for (const auto& job : m.jobs) {
      if (!hosts.servers[i]->has_role(job.role)) continue;
      host_jobs[i].push_back(&job);
      units[i].push_back(jobs::unit_name(m, job));
    }
  }
  HostResults results;
  const auto statuses = query_status(hosts, units, results);
  print_host_errors(ui, results);

  // Print a table (or the JSON document).
  const int status = static_cast<int>(exit_status(results));
  bool missing = false;
  nlohmann::json json = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < hosts.servers.size(); ++i) {
    const auto& host = hosts.servers[i]->name;
    if (results[i].error) {
      json.push_back({{"host", host}, {"error", results[i].error->what()}, {"jobs", nlohmann::json::array()}});
      continue;
    }
    nlohmann::json host_json = nlohmann::json::array();
    for (std::size_t j = 0; j < host_jobs[i].size(); ++j) {
      const auto& job = *host_jobs[i][j];
      const auto& s = statuses[i][j];
      missing = missing || !s.installed;
      host_json.push_back(
          {{"name", job.name},
           {"unit", s.unit},
           {"schedule", job.schedule},
           {"run_on", job.run_on == manifest::RunOn::all ? "all" : "one"},
           {"timer", timer_state(s)},
           {"running", s.running},
           {"last_start", or_null(s.last_start)},
           {"last_end", or_null(s.last_end)},
           {"result", or_null(s.last_start.empty() ? std::string() : s.result)},
           {"exit_status", s.last_start.empty() ? nlohmann::json() : nlohmann::json(s.exit_status)},
           {"outcome", s.outcome()},
           {"next_run", or_null(s.next_run)}});
      rows.push_back({host, job.name, job.schedule, timer_state(s),
                      s.last_start.empty() ? "-" : s.last_start, s.outcome(),
                      s.next_run.empty() ? "-" : s.next_run});
    }
    json.push_back({{"host", host}, {"error", nullptr}, {"jobs", host_json}});
  }
  if (missing) ui.warn("some job units are missing: run `berth setup` to install them");
  if (ui.json()) {
    ui.emit_json({{"hosts", json}});
    return status;
  }
  const std::vector<std::string> header = {"HOST",     "JOB",    "SCHEDULE", "TIMER",
                                           "LAST RUN", "RESULT", "NEXT RUN"};
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c)
    width[c] = header[c].size();
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      text += c + 1 == cells.size() ? cells[c] : fmt::format("{:<{}}  ", cells[c], width[c]);
    }
    return text;
  };
  if (!rows.empty()) ui.out(ui.bold(line(header)));
  for (const auto& row : rows)
    ui.out(line(row));
  return status;
}

// berth jobs run NAME: start the job's service where its timer is enabled, wait,
// print its journal.
int run_now(const GlobalOptions& global, Ui& ui, const std::string& name) {
  // Load the manifest, find the job, select the servers of its role.
  const auto m = manifest::load_or_throw(global.file, global.env);
  const auto& job = jobs::find_job(m, name);
  if (!global.roles.empty() &&
      std::find(global.roles.begin(), global.roles.end(), job.role) == global.roles.end()) {
    throw Error(fmt::format("job {} runs on {} servers: leave out --role, or include {}", job.name,
                            job.role, job.role),
                ExitCode::usage);
  }
  auto selection = global;
  selection.roles = {job.role};
  auto hosts = open_hosts(selection, m, ui);
  const auto unit = jobs::unit_name(m, job);

  // Find where its timer is enabled (run_on = "one": exactly one host).
  HostResults found;
  const auto statuses = query_status(
      hosts, std::vector<std::vector<std::string>>(hosts.servers.size(), {unit}), found);
  for (const auto& r : found) {
    if (r.error) throw *r.error;
  }
  std::vector<std::string> names;
  std::vector<jobs::Status> status_of;
  for (std::size_t i = 0; i < hosts.servers.size(); ++i) {
    names.push_back(hosts.servers[i]->name);
    status_of.push_back(statuses[i].front());
  }
  const auto chosen = jobs::hosts_to_run(job, names, status_of);

  // Run it there, hosts in parallel, each waiting for its run to end.
  std::vector<std::optional<jobs::Run>> runs(hosts.servers.size());
  const auto ran_on = hosts.fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
    if (std::find(chosen.begin(), chosen.end(), i) == chosen.end()) return {};
    ui.progress(fmt::format("{}: running job {} ({}.service)", remote.name(), job.name, unit));
    const auto ran = remote.run_script(jobs::run_script(unit));
    if (!ran) return std::unexpected(ran.error());
    runs[i] = jobs::parse_run(ran->records);
    return {};
  });

  // Report each host: its output, then how the run ended.
  int status = 0;
  nlohmann::json json = nlohmann::json::array();
  for (const auto i : chosen) {
    const auto& host = hosts.servers[i]->name;
    if (!runs[i]) {
      const auto& error = *ran_on[i].error;
      ui.error(fmt::format("job {}: {}", job.name, util::about(host, error.what())), error.hint());
      json.push_back({{"host", host}, {"ok", false}, {"error", error.what()}});
      status = static_cast<int>(exit_status(ran_on));
      continue;
    }
    const auto& r = *runs[i];
    for (const auto& line : r.output)
      ui.out(fmt::format("{} | {}", ui.bold(host), line));
    std::string error;
    if (r.missing) {
      error = fmt::format("{}.service is not installed", unit);
    } else if (r.skipped) {
      error = fmt::format("{}.service did not run: no release of {} is deployed on this server", unit,
                          m.app.name);
    } else if (!r.ok()) {
      error = fmt::format("{}.service failed ({}, exit status {}) after {:.1f} s", unit,
                          r.result.empty() ? "unknown" : r.result, r.exit_status,
                          r.elapsed_ms / 1000.0);
      for (const auto& e : r.errors)
        error += "\n  " + e;
    }
    json.push_back({{"host", host},
                    {"ok", r.ok()},
                    {"result", or_null(r.result)},
                    {"exit_status", r.exit_status},
                    {"started", or_null(r.started)},
                    {"elapsed_ms", r.elapsed_ms},
                    {"output", r.output},
                    {"error", or_null(error)}});
    if (!error.empty()) {
      ui.error(fmt::format("{}: job {}: {}", host, job.name, error),
               r.missing   ? "run `berth setup` to install it"
               : r.skipped ? "run `berth deploy`, then the job again"
                           : fmt::format(
                         "its output is above; older runs: berth logs, or journalctl -u {}.service "
                         "on the host",
                         unit));
      status = std::max(status, static_cast<int>(ExitCode::failure));
      continue;
    }
    ui.out(fmt::format("{}: job {} {} in {:.1f} s", host, job.name, ui.green("succeeded"),
                       r.elapsed_ms / 1000.0));
  }
  if (ui.json()) {
    ui.emit_json(
        {{"job", job.name}, {"unit", unit + ".service"}, {"ok", status == 0}, {"hosts", json}});
  }
  return status;
}

}  // namespace

void add_jobs(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "jobs", "List the scheduled jobs ([[jobs]]): per host, timer, last run, result and next run");
  sub->footer(
      "TIMER is enabled on the hosts that run the job on schedule (run_on = \"one\": the first "
      "app\n"
      "server; \"all\": each), disabled elsewhere, missing before `berth setup`. Times are UTC.\n"
      "Exit status: 0, or 1 when a host could not be read (5: not reached).\n");
  auto* run = sub->add_subcommand(
      "run",
      "Run a job now where its timer is enabled, wait for it to finish and print its output");
  auto name = std::make_shared<std::string>();
  run->add_option("name", *name, "The job ([[jobs]] name)")->required();
  run->footer(
      "Starts APP-job-NAME.service with systemctl (the job's own unit: same user, environment,\n"
      "timeout and overlap lock as a scheduled run) and prints what this run logged.\n"
      "Exit status: 0 when it succeeded everywhere, 1 when it failed (or is not set up), 5 when\n"
      "a host could not be reached.\n");
  on_run(sub, cli, [&cli, run, name](Ui& ui) {
    return run->parsed() ? run_now(cli.global, ui, *name) : run_list(cli.global, ui);
  });
}

}  // namespace berth::cli
