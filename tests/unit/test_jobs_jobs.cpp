#include <core/error.hpp>
#include <core/jobs/jobs.hpp>
#include <tests/unit/framed.hpp>

#include <catch2/catch.hpp>

using namespace berth;
using berth::test::records;
using test::record;

namespace {

manifest::Manifest jobs_sample() {
  manifest::Manifest m;
  m.app.name = "tracker";
  m.jobs = {{.name = "reminders", .schedule = "0 8 * * *", .command = "node jobs/reminders.js"},
            {.name = "cleanup",
             .schedule = "daily",
             .command = "node jobs/cleanup.js",
             .run_on = manifest::RunOn::all}};
  return m;
}

// What status_script reports on a host with the reminders job set up and run once.
const std::string status_output = record("tracker-job-reminders", "job", R"(timer.LoadState=loaded
timer.UnitFileState=enabled
timer.NextElapseUSecRealtime=2026-11-26T08:00:04Z
timer.LastTriggerUSec=
service.LoadState=loaded
service.ActiveState=inactive
service.Result=success
service.ExecMainStatus=0
service.ExecMainStartTimestamp=2026-11-25T16:30:29Z
service.ExecMainExitTimestamp=2026-11-25T16:30:30Z)") +
                                  record("tracker-job-cleanup", "job", R"(timer.LoadState=not-found
timer.UnitFileState=
timer.NextElapseUSecRealtime=
timer.LastTriggerUSec=
service.LoadState=not-found
service.ActiveState=inactive
service.Result=success
service.ExecMainStatus=0
service.ExecMainStartTimestamp=
service.ExecMainExitTimestamp=)");

jobs::Status status(bool installed, bool enabled) {
  return jobs::Status{.unit = "tracker-job-reminders", .installed = installed, .enabled = enabled};
}

}  // namespace

TEST_CASE("jobs: unit names and lookup follow provisioners/jobs") {
  const auto m = jobs_sample();
  CHECK(jobs::unit_name(m, m.jobs[0]) == "tracker-job-reminders");
  CHECK(&jobs::find_job(m, "cleanup") == &m.jobs[1]);
  try {
    jobs::find_job(m, "reminder");
    FAIL("an unknown job was found");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    CHECK(std::string(e.what()) == "no job 'reminder' in the manifest");
    CHECK(e.hint() == "its jobs: reminders, cleanup");
  }
}

TEST_CASE("jobs: the status script asks systemctl for each unit's timer and service") {
  const auto script = jobs::status_script({"tracker-job-reminders", "tracker-job-cleanup"});
  CHECK(script.find("rec 'tracker-job-reminders' job \"$(show timer") != std::string::npos);
  CHECK(script.find("show timer 'tracker-job-reminders'.timer LoadState UnitFileState") !=
        std::string::npos);
  CHECK(script.find("show service 'tracker-job-cleanup'.service LoadState ActiveState Result") !=
        std::string::npos);
  CHECK(script.find("date -u -d") != std::string::npos);
  SECTION("a unit name is quoted for the shell") {
    CHECK(jobs::status_script({"a b"}).find("show timer 'a b'.timer") != std::string::npos);
  }
}

TEST_CASE("jobs: status records parse into last run, result and next run") {
  const auto list = jobs::parse_status(records(status_output));
  REQUIRE(list.size() == 2);
  const auto& r = list[0];
  CHECK(r.unit == "tracker-job-reminders");
  CHECK(r.installed);
  CHECK(r.enabled);
  CHECK_FALSE(r.running);
  CHECK(r.last_start == "2026-11-25T16:30:29Z");
  CHECK(r.last_end == "2026-11-25T16:30:30Z");
  CHECK(r.next_run == "2026-11-26T08:00:04Z");
  CHECK(r.outcome() == "success");
  const auto& c = list[1];
  CHECK(c.unit == "tracker-job-cleanup");
  CHECK_FALSE(c.installed);
  CHECK_FALSE(c.enabled);
  CHECK(c.outcome() == "never");
  CHECK(c.next_run.empty());

  SECTION("a failed run says how") {
    const auto failed = jobs::parse_status(records(
        record("x", "job", "timer.LoadState=loaded\nservice.Result=exit-code\nservice.ExecMainStatus=1\n"
                           "service.ExecMainStartTimestamp=2026-11-25T08:00:04Z")));
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].outcome() == "failed (exit-code, status 1)");
  }
  SECTION("a running job is running, whatever the last result") {
    const auto running = jobs::parse_status(records(
        record("x", "job", "service.ActiveState=activating\nservice.ExecMainStartTimestamp=2026-11-25T08:00:04Z")));
    CHECK(running[0].outcome() == "running");
  }
  SECTION("a scheduled run counts when the service's own start time is gone (reboot)") {
    const auto rebooted = jobs::parse_status(records(
        record("x", "job", "timer.LastTriggerUSec=2026-11-25T08:00:04Z\nservice.Result=success\n"
                           "service.ExecMainStartTimestamp=")));
    CHECK(rebooted[0].last_start == "2026-11-25T08:00:04Z");
    CHECK(rebooted[0].outcome() == "success");
  }
  SECTION("text outside the records and malformed lines are ignored") {
    CHECK(jobs::parse_status(records("@@job y\ntimer.LoadState=loaded\n")).empty());
    CHECK(jobs::parse_status(records(record("x", "job", "nonsense")))[0].unit == "x");
  }
}

TEST_CASE("jobs: the run script starts the service and reads what it logged since") {
  const auto script = jobs::run_script("tracker-job-reminders");
  CHECK(script.find("unit='tracker-job-reminders'.service\n") != std::string::npos);
  CHECK(script.find("systemctl start \"$unit\"") != std::string::npos);
  CHECK(script.find("journalctl --sync") != std::string::npos);
  CHECK(script.find("--since \"@$since\" \"_SYSTEMD_UNIT=$unit\"") != std::string::npos);
  CHECK(script.find("systemd-run") == std::string::npos);
}

TEST_CASE("jobs: run reports parse into a verdict and the output") {
  SECTION("success, with output that looks like markers") {
    const auto run = jobs::parse_run(records(
        record("run", "start", "0 1234") + record("run", "result", "success 0") +
        record("run", "started", "2026-11-25T16:30:29Z") +
        record("run", "output",
               "reminder: sub=1 user=ada@example.com name=Video streaming renews_on=2026-11-26\n"
               "@@berth run result 12\nexit-code 1")));
    CHECK(run.ok());
    CHECK(run.start_status == 0);
    CHECK(run.elapsed_ms == 1234);
    CHECK(run.started == "2026-11-25T16:30:29Z");
    REQUIRE(run.output.size() == 3);
    CHECK(run.output[0].starts_with("reminder: sub=1 "));
    CHECK(run.output[1] == "@@berth run result 12");
  }
  SECTION("a failed run keeps systemctl's message and the exit status") {
    const auto run = jobs::parse_run(records(
        record("run", "start", "1 80") +
        record("run", "errors", "Job for x.service failed because the control process exited with error code.") +
        record("run", "result", "exit-code 3") + record("run", "started", "2026-11-25T16:30:29Z") +
        record("run", "output", "boom")));
    CHECK_FALSE(run.ok());
    CHECK(run.result == "exit-code");
    CHECK(run.exit_status == 3);
    REQUIRE(run.errors.size() == 1);
    CHECK(run.errors[0].starts_with("Job for x.service failed"));
    CHECK(run.output == std::vector<std::string>{"boom"});
  }
  SECTION("a run skipped for want of a release is not ok, though systemd says success") {
    const auto run = jobs::parse_run(records(record("run", "start", "0 12") +
                                             record("run", "result", "success 0") +
                                             record("run", "condition", "no")));
    CHECK(run.skipped);
    CHECK_FALSE(run.ok());
    CHECK_FALSE(jobs::parse_run(records(record("run", "start", "0 12") + record("run", "result", "success 0") +
                                        record("run", "condition", "yes")))
                    .skipped);
  }
  SECTION("a missing service, and a cut-off report, are not ok") {
    CHECK(jobs::parse_run(records(record("run", "missing", "yes"))).missing);
    CHECK_FALSE(jobs::parse_run(records(record("run", "missing", "yes"))).ok());
    CHECK_FALSE(jobs::parse_run(records(record("run", "start", "0 10"))).ok());
    CHECK_FALSE(jobs::parse_run({}).ok());
  }
}

TEST_CASE("jobs: a job runs where its timer is enabled") {
  const auto m = jobs_sample();
  const auto& one = m.jobs[0];
  const auto& all = m.jobs[1];
  const std::vector<std::string> hosts = {"web-1", "web-2"};

  SECTION("run_on one: the host whose timer is enabled") {
    CHECK(jobs::hosts_to_run(one, hosts, {status(true, false), status(true, true)}) ==
          std::vector<std::size_t>{1});
  }
  SECTION("run_on one, enabled nowhere: an error saying to run setup") {
    try {
      jobs::hosts_to_run(one, hosts, {status(false, false), status(true, false)});
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()) ==
            "job reminders is enabled on no host: not installed on web-1; timer disabled on web-2");
      CHECK(e.hint().find("berth setup") != std::string::npos);
    }
  }
  SECTION("run_on one, enabled on two hosts: an error naming them") {
    CHECK_THROWS_WITH(jobs::hosts_to_run(one, hosts, {status(true, true), status(true, true)}),
                      Catch::Contains("timer is enabled on web-1, web-2"));
  }
  SECTION("run_on all: every host") {
    CHECK(jobs::hosts_to_run(all, hosts, {status(true, true), status(true, true)}) ==
          std::vector<std::size_t>{0, 1});
  }
  SECTION("run_on all, one host not set up: an error, and nothing runs") {
    CHECK_THROWS_WITH(jobs::hosts_to_run(all, hosts, {status(true, true), status(false, false)}),
                      Catch::Contains("not installed on web-2"));
  }
}
