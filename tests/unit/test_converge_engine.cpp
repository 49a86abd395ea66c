#include <core/converge/engine.hpp>
#include <core/util/hash.hpp>
#include <tests/unit/fake_remote.hpp>

#include <catch2/catch.hpp>

using namespace berth;
using namespace berth::converge;
using test::FakeRemote;
using test::record;

namespace {

// One nginx site (validated, reload handler) and one package: enough to show the
// engine's paths without a server.
converge::Desired engine_sample() {
  converge::Desired d;
  d.resources = {make(Package{"nginx"}, "nginx"),
                 make(File{.path = "/etc/nginx/sites-enabled/app", .content = "new\n", .validate = "nginx -t"},
                      "nginx", {"reload:nginx.service"})};
  return d;
}

// What the probe reports for engine_sample(): nginx installed, the site with `content`.
std::string probe_output(const std::string& content, const std::string& extra = {}) {
  return record("0", "version", "installed 1.22") + record("1", "type", "file") +
         record("1", "meta", "root root 644") + record("1", "content", content) + extra + "@@berth end\n";
}

HostReport run(FakeRemote& remote, Mode mode) {
  const auto desired = engine_sample();
  auto probed = probe_host(remote, desired);
  return apply_host(remote, desired, std::move(probed), {}, mode);
}

}  // namespace

TEST_CASE("engine: a host that is right costs one exec and reports nothing to do") {
  FakeRemote remote;
  remote.answer("dpkg-query", probe_output("new\n"));
  const auto report = run(remote, Mode::apply);
  CHECK_FALSE(report.failed());
  CHECK(report.count(Outcome::changed) == 0);
  CHECK(report.handlers.empty());
  CHECK(remote.sent.size() == 1);
}

TEST_CASE("engine: a handler owed by an interrupted run is planned and then run") {
  FakeRemote remote;
  remote.answer("dpkg-query", probe_output("new\n", record("owed", "handler", "reload:nginx.service") +
                                                        record("owed", "handler", "rm -rf /")));
  SECTION("plan shows it as a change; a record that names no known handler is left out") {
    const auto report = run(remote, Mode::plan);
    REQUIRE(report.handlers.size() == 1);
    CHECK(report.handlers[0].name == "reload:nginx.service");
    CHECK(report.handlers[0].owed);
    CHECK(report.count(Outcome::changed) == 1);
  }
  SECTION("apply runs it alone, and clears its record once it succeeded") {
    remote.answer("run_step 'h:reload:nginx.service'",
                  record("h:reload:nginx.service", "step", "begin") + record("h:reload:nginx.service", "step", "ok") +
                      "@@berth end\n");
    const auto report = run(remote, Mode::apply);
    CHECK_FALSE(report.failed());
    REQUIRE(remote.sent.size() == 2);
    CHECK(remote.sent[1].find("paid 'reload:nginx.service'") != std::string::npos);
    CHECK(remote.sent[1].find("rm -rf /") == std::string::npos);
    REQUIRE(report.handlers.size() == 1);
    CHECK(report.handlers[0].outcome == Outcome::changed);
    // The one stage that ran is reported with its time (--json: stages).
    REQUIRE(report.stages.size() == 1);
    CHECK(report.stages[0].stage == "config");
  }
}

TEST_CASE("engine: a connection lost during a handler tells what changed and what was cut off") {
  FakeRemote remote;
  remote.answer("dpkg-query", probe_output("old\n"));
  remote.lose_connection("put_file", record("1", "step", "begin") + record("1", "step", "ok") +
                                         record("h:reload:nginx.service", "step", "begin"));
  const auto report = run(remote, Mode::apply);
  REQUIRE(report.failed());
  CHECK(report.failed_step == "handler reload:nginx.service");
  CHECK(report.error.find("connection lost") != std::string::npos);
  CHECK(report.error.find("during handler reload:nginx.service") != std::string::npos);
  CHECK(report.resources[1].outcome == Outcome::changed);
  REQUIRE(report.handlers.size() == 1);
  CHECK(report.handlers[0].outcome == Outcome::failed);
  CHECK(report.count(Outcome::failed) == 1);
  // The step records the reload as owed before the file takes effect.
  const auto& script = remote.sent[1];
  CHECK(script.find("owe 'reload:nginx.service' || return\nput_file") != std::string::npos);
}

TEST_CASE("engine: a failed validation stops the stage before its handler") {
  FakeRemote remote;
  remote.answer("dpkg-query", probe_output("old\n"));
  remote.answer("put_file",
                record("1", "step", "begin") + record("1", "step", "failed 1"), 1);
  const auto report = run(remote, Mode::apply);
  REQUIRE(report.failed());
  CHECK(report.failed_step == "file:/etc/nginx/sites-enabled/app");
  CHECK(report.resources[1].outcome == Outcome::failed);
  REQUIRE(report.handlers.size() == 1);
  CHECK(report.handlers[0].outcome == Outcome::skipped);
}

TEST_CASE("engine: a probe that does not get to its end is an error, not an empty host") {
  FakeRemote remote;
  remote.answer("dpkg-query", record("0", "version", "installed 1.22"));
  const auto report = run(remote, Mode::plan);
  REQUIRE(report.failed());
  CHECK(report.failed_step == "probe");
  CHECK(report.error.find("did not get to its end") != std::string::npos);
}

TEST_CASE("engine: a change the app's instances start with owes a blue/green restart, never runs one") {
  converge::Desired d;
  d.resources = {make(File{.path = "/etc/berth/shop/app.env", .content = "A=2\n", .mode = "0600",
                           .sensitive = Sensitive::yes},
                      "app", {"release:shop"})};
  FakeRemote remote;
  remote.answer("path_state", record("0", "type", "file") + record("0", "meta", "root root 600") +
                                  record("0", "hash", "0000  -") + "@@berth end\n");
  SECTION("plan says the restart will follow") {
    const auto report = apply_host(remote, d, probe_host(remote, d), {}, Mode::plan);
    REQUIRE(report.handlers.size() == 1);
    CHECK(report.handlers[0].deferred);
    CHECK(report.deferred() == std::vector<std::string>{"release:shop"});
    CHECK(report.count(Outcome::changed) == 1);  // the file; the restart is the command's
  }
  SECTION("apply records it as owed and leaves it to the command") {
    remote.answer("put_file", record("0", "step", "begin") + record("0", "step", "ok") + "@@berth end\n");
    const auto report = apply_host(remote, d, probe_host(remote, d), {}, Mode::apply);
    CHECK_FALSE(report.failed());
    REQUIRE(remote.sent.size() == 2);
    CHECK(remote.sent[1].find("owe 'release:shop' || return") != std::string::npos);
    CHECK(remote.sent[1].find("run_step 'h:release:shop'") == std::string::npos);
    CHECK(report.deferred() == std::vector<std::string>{"release:shop"});
  }
}

TEST_CASE("engine: a file that holds another value than expected refuses the host before any change") {
  auto desired = engine_sample();
  desired.expectations.push_back({"/etc/berth/shop/postgresql-primary", "db1", "the manifest names db1"});
  FakeRemote remote;
  SECTION("missing or as expected: the probe goes on") {
    const auto extra = GENERATE(std::string(), record("expect:0", "content", "db1\n"));
    remote.answer("dpkg-query", probe_output("new\n", extra));
    const auto probed = probe_host(remote, desired);
    CHECK_FALSE(probed.refused);
    CHECK_FALSE(probed.report.failed());
    CHECK(remote.sent.front().find("rec_file expect:0 content '/etc/berth/shop/postgresql-primary'") !=
          std::string::npos);
  }
  SECTION("another value: refused, saying what the file holds") {
    remote.answer("dpkg-query", probe_output("new\n", record("expect:0", "content", "db2\n")));
    const auto probed = probe_host(remote, desired);
    CHECK(probed.refused);
    CHECK(probed.report.error ==
          "the manifest names db1 (/etc/berth/shop/postgresql-primary says db2)");
    CHECK(probed.report.failed_step == "probe");
    CHECK(remote.sent.size() == 1);
  }
}
