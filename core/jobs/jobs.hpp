#pragma once

// berth jobs: what the [[jobs]] of the manifest did and will do on each host, and
// running one now. provisioners/jobs installs each job as APP-job-NAME.service (a
// oneshot) and APP-job-NAME.timer, enabled on the hosts that run it. The remote half
// is POSIX sh scripts (one exec per host each); their output is parsed here, without
// SSH, and unit-tested.

#include <core/manifest/manifest.hpp>
#include <core/util/frame.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace berth::jobs {

// The systemd unit name of `job` without its suffix: APP-job-NAME.
std::string unit_name(const manifest::Manifest& m, const manifest::Job& job);

// The [[jobs]] entry called `name`. Throws berth::Error (ExitCode::usage) naming the
// jobs of the manifest when there is none.
const manifest::Job& find_job(const manifest::Manifest& m, std::string_view name);

// Reports, for each unit of `units` (APP-job-NAME), a record "UNIT job" whose lines are
//   timer.PROPERTY=VALUE      (LoadState, UnitFileState, NextElapseUSecRealtime, LastTriggerUSec)
//   service.PROPERTY=VALUE    (LoadState, ActiveState, Result, ExecMainStatus,
//                              ExecMainStartTimestamp, ExecMainExitTimestamp)
// from `systemctl show`, timestamps in UTC as 2026-11-25T08:00:04Z (empty: none).
std::string status_script(const std::vector<std::string>& units);

// One job's state on one host.
struct Status {
  std::string unit;        // APP-job-NAME
  bool installed = false;  // the timer unit exists
  bool enabled = false;    // the timer is enabled: this host runs the job on schedule
  bool running = false;    // the service is running now
  std::string last_start;  // UTC, ISO 8601; empty: not run since the host booted
  std::string last_end;
  std::string result;    // systemd's Result of the last run: success, exit-code, timeout...
  int exit_status = 0;   // of the last run's command
  std::string next_run;  // UTC, ISO 8601; empty: not scheduled here

  // "never", "running", "success" or "failed (exit-code, status 1)".
  std::string outcome() const;
};

// The jobs status_script reported, in order. Never throws: unknown lines are
// ignored and missing properties keep their defaults.
std::vector<Status> parse_status(const std::vector<util::Record>& records);

// Starts UNIT.service now and waits for it (`systemctl start` blocks until a oneshot
// service has finished), then reports the records (subject "run")
//   start   "EXIT_STATUS MILLISECONDS" of `systemctl start`
//   errors  its stderr
//   result  "RESULT EXEC_MAIN_STATUS", systemd's verdict on this run
//   started when it was started (UTC, ISO 8601)
//   output  everything the run logged
// The output is what the service's processes logged since the start (not systemd's
// messages about it). Reports only "run missing" when the service is not installed.
std::string run_script(const std::string& unit);

// What run_script reported.
struct Run {
  bool missing = false;   // the service is not installed on the host
  bool skipped = false;   // its condition was unmet: no release is deployed, nothing ran
  int start_status = -1;  // exit status of `systemctl start`
  long long elapsed_ms = 0;
  std::string result;               // success, exit-code, timeout, signal...
  int exit_status = -1;             // the job command's exit status
  std::string started;              // UTC, ISO 8601
  std::vector<std::string> errors;  // stderr of systemctl start
  std::vector<std::string> output;  // the run's journal lines

  // The run succeeded: started, finished with Result=success and status 0.
  bool ok() const;
};

// Reads run_script's output. Never throws: an incomplete report leaves defaults
// (which are not ok()).
Run parse_run(const std::vector<util::Record>& records);

// The hosts to run `job` on now, as indices into `statuses` (the job's Status on each
// host of `hosts`, same order): the one host whose timer is enabled for
// run_on = "one", every host for run_on = "all". Throws berth::Error saying which
// hosts and what to do (run berth setup) when the job is not installed or enabled
// where it should be, or when a run_on = "one" job is enabled on several hosts.
std::vector<std::size_t> hosts_to_run(const manifest::Job& job,
                                      const std::vector<std::string>& hosts,
                                      const std::vector<Status>& statuses);

}  // namespace berth::jobs
