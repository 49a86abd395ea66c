#include <core/manifest/values.hpp>
#include <provisioners/provisioner.hpp>
#include <tests/unit/desired.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

using namespace berth;
using namespace berth::converge;
using berth::test::has;
using berth::test::find;
using berth::test::content;

namespace {

manifest::Manifest job_units_sample() {
  manifest::Manifest m;
  m.app.name = "shop";
  m.servers = {{.name = "a", .address = "198.18.0.2", .roles = {"app"}},
               {.name = "b", .address = "198.18.0.3", .roles = {"app"}}};
  m.jobs = {{.name = "reminders",
             .schedule = "daily",
             .on_calendar = "daily",
             .command = "node jobs/reminders.js",
             .on_failure_webhook = "https://hooks.test/T0K\"EN"},
            {.name = "cleanup",
             .schedule = "hourly",
             .on_calendar = "hourly",
             .command = "true",
             .run_on = manifest::RunOn::all}};
  return m;
}

// The jobs' resources on server `server`; ${secret:NAME} reads `env` (nothing else).
provisioners::Desired jobs_of(const manifest::Manifest& m, std::size_t server,
                              std::map<std::string, std::string> env = {}) {
  manifest::SecretSources secrets(m, [env](const std::string& name) -> std::optional<std::string> {
    const auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
  provisioners::Desired d;
  provisioners::add_jobs(m, m.servers[server], secrets, d);
  return d;
}

}  // namespace

TEST_CASE("jobs: a failed run starts the app's notify unit with the job's name") {
  const auto m = job_units_sample();
  const auto d = jobs_of(m, 0);
  CHECK(has(content(d, "/etc/systemd/system/shop-job-reminders.service"),
            "\nOnFailure=shop-job-failed@reminders.service\n"));
  // Set up but never deployed: the timer fires, the run is skipped rather than failed.
  CHECK(has(content(d, "/etc/systemd/system/shop-job-reminders.service"),
            "\nConditionPathExists=/srv/shop/current\n"));

  SECTION("one template unit runs the script, as root, for every job") {
    const auto* unit = find(d, "file:/etc/systemd/system/shop-job-failed@.service");
    REQUIRE(unit);
    CHECK(unit->notify == std::vector<std::string>{"daemon-reload"});
    const auto& u = std::get<File>(unit->spec).content;
    CHECK(has(u, "ExecStart=/usr/local/lib/berth/shop-job-failed %i\n"));
    CHECK_FALSE(has(u, "User="));
    const auto* script = find(d, "file:/usr/local/lib/berth/shop-job-failed");
    REQUIRE(script);
    CHECK(std::get<File>(script->spec).mode == "0755");
  }

  SECTION("the script writes to the journal and posts JSON with curl, retrying") {
    const auto& s = content(d, "/usr/local/lib/berth/shop-job-failed");
    CHECK(has(s, "*) unit=shop-job-$job.service ;;\n"));
    CHECK(has(s, "echo \"<3>job $job of shop failed on $host"));
    CHECK(has(s, "conf=/etc/berth/shop/jobs/$1.curl\n"));
    CHECK(has(s, "{\"app\":\"%s\",\"job\":\"%s\",\"host\":\"%s\",\"result\":\"%s\",\"status\":%s,"
                 "\"time\":\"%s\"}"));
    CHECK(has(s, "--max-time 10 --retry 3"));
    CHECK(has(s, "-H 'Content-Type: application/json'"));
    CHECK(find(d, "package:curl"));
  }

  SECTION("the webhook's url is in a 0600 curl config, quoted; none is an empty config") {
    const auto* hook = find(d, "file:/etc/berth/shop/jobs/reminders.curl");
    REQUIRE(hook);
    const auto& f = std::get<File>(hook->spec);
    CHECK(f.content == "url = \"https://hooks.test/T0K\\\"EN\"\n");
    CHECK(f.mode == "0600");
    CHECK(f.sensitive == Sensitive::yes);
    CHECK_FALSE(has(content(d, "/etc/berth/shop/jobs/cleanup.curl"), "url"));
  }
}

TEST_CASE("jobs: run_on = one has its timer on one host, the notify unit on every host") {
  const auto m = job_units_sample();
  const auto a = jobs_of(m, 0);
  const auto b = jobs_of(m, 1);
  CHECK(std::get<Unit>(find(a, "unit:shop-job-reminders.timer")->spec).enabled);
  CHECK_FALSE(std::get<Unit>(find(b, "unit:shop-job-reminders.timer")->spec).enabled);
  CHECK(std::get<Unit>(find(b, "unit:shop-job-cleanup.timer")->spec).enabled);
  CHECK(find(b, "file:/etc/systemd/system/shop-job-failed@.service"));
}

TEST_CASE("jobs: a webhook URL may come from a secret; a missing one is named with its place") {
  auto m = job_units_sample();
  m.jobs[0].on_failure_webhook = "https://hooks.test/${secret:HOOK}";
  m.jobs[0].where = {.file = "berth.toml", .line = 7, .column = 1};
  const auto d = jobs_of(m, 0, {{"HOOK", "T0KEN"}});
  const auto* curl = find(d, "file:/etc/berth/shop/jobs/reminders.curl");
  REQUIRE(curl);
  CHECK(std::get<File>(curl->spec).content == "url = \"https://hooks.test/T0KEN\"\n");
  CHECK(std::get<File>(curl->spec).sensitive == Sensitive::yes);
  CHECK_THROWS_WITH(jobs_of(m, 0), Catch::Contains("berth.toml:7:1: job reminders: on_failure_webhook: ") &&
                                       Catch::Contains("HOOK"));
}

TEST_CASE("jobs: curl is added once per host, and nothing without jobs") {
  auto m = job_units_sample();
  provisioners::Desired d;
  d.resources.push_back(make(Package{"curl"}, "base"));
  manifest::SecretSources secrets(m, [](const std::string&) { return std::optional<std::string>(); });
  provisioners::add_jobs(m, m.servers[0], secrets, d);
  CHECK(std::count_if(d.resources.begin(), d.resources.end(),
                      [](const Resource& r) { return r.id() == "package:curl"; }) == 1);

  m.jobs.clear();
  const auto none = jobs_of(m, 0);
  CHECK(none.resources.empty());
}
