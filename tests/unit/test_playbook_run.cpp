#include <core/layout/layout.hpp>
#include <core/playbook/run.hpp>
#include <core/util/process.hpp>
#include <tests/unit/fake_remote.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <unistd.h>

using namespace berth;
using test::FakeHosts;
using test::record;

namespace {

manifest::Manifest playbook_sample() {
  manifest::Manifest m;
  m.app.name = "shop";
  m.servers = {{.name = "web-1", .address = "198.18.0.2", .roles = {"app"}},
               {.name = "web-2", .address = "198.18.0.3", .roles = {"app"}}};
  return m;
}

playbook::Step remote_step(std::string command) {
  playbook::Step step;
  step.name = "warm";
  step.kind = playbook::StepKind::remote;
  step.command = std::move(command);
  return step;
}

struct Fixture {
  manifest::Manifest m = playbook_sample();
  manifest::SecretSources secrets{m, [](const std::string&) { return std::optional<std::string>(); }};
  FakeHosts hosts{2};
  playbook::Context context{m, {&m.servers[0], &m.servers[1]}, hosts, secrets};
};

}  // namespace

TEST_CASE("playbook run: a remote step that fails on one host fails the step, naming it") {
  Fixture f;
  f.hosts.remotes[0].answer("warm-cache", "");
  f.hosts.remotes[1].answer("warm-cache", "", 3);
  const auto report = playbook::run_step(remote_step("warm-cache"), f.context);
  CHECK_FALSE(report.ok);
  CHECK_FALSE(report.unreachable);
  CHECK(report.error.starts_with("web-2: `warm-cache` failed (exit status 3)"));
  REQUIRE(report.commands.size() == 2);
  CHECK(report.commands[0].exit_status == 0);
  CHECK(report.commands[1].exit_status == 3);
}

TEST_CASE("playbook run: an unreachable host marks the step unreachable, with its own error") {
  Fixture f;
  f.hosts.unreachable = {false, true};
  f.hosts.remotes[0].answer("warm-cache", "");
  const auto report = playbook::run_step(remote_step("warm-cache"), f.context);
  CHECK_FALSE(report.ok);
  CHECK(report.unreachable);
  CHECK(report.error == "web-2: connect: refused");
  CHECK(report.commands[1].host == "web-2");
}

TEST_CASE("playbook run: remote commands get BERTH_PORT, the port of the instance that serves") {
  Fixture f;
  f.m.app.run.port = 3000;
  f.m.app.run.instances = 2;
  SECTION("exported before the command, on every host") {
    f.hosts.remotes[0].answer("healthz", "");
    f.hosts.remotes[1].answer("healthz", "");
    const auto report = playbook::run_step(remote_step("curl -fsS http://127.0.0.1:$BERTH_PORT/healthz"), f.context);
    REQUIRE(report.ok);
    for (const auto& remote : f.hosts.remotes) {
      REQUIRE(remote.sent.size() == 1);
      const auto& script = remote.sent[0];
      const auto exported = script.find(layout::export_live_port(f.m));
      REQUIRE(exported != std::string::npos);
      CHECK(exported < script.find("curl -fsS"));
    }
  }
  SECTION("with an upstream file: the color nginx's upstream points at") {
    const auto lines = layout::export_live_port(f.m);
    CHECK(lines.starts_with("if [ -f '/etc/berth/shop/upstream.conf' ]; then\n" + layout::read_live_color(f.m) +
                            "else\n"));
    CHECK(lines.find("grep -q '127.0.0.1:3000 ' '/etc/berth/shop/upstream.conf'") != std::string::npos);
    CHECK(lines.ends_with("if [ \"$live\" = green ]; then BERTH_PORT=3002; else BERTH_PORT=3000; fi\nexport BERTH_PORT\n"));
  }
  SECTION("without one (no proxy; no such file here): the color whose first instance runs") {
    // systemctl stands in as a shell function: "running" names the unit that is active.
    const auto port_when = [&](const std::string& running) {
      const auto script = "systemctl() { [ \"$3\" = '" + running + "' ]; }\n" + layout::export_live_port(f.m) +
                          "sh -c 'echo $BERTH_PORT'\n";
      const auto ran = run_process({"/bin/sh", "-c", script});
      REQUIRE(ran);
      return ran->out;
    };
    CHECK(port_when("shop@3002.service") == "3002\n");
    CHECK(port_when("shop@3000.service") == "3000\n");
    CHECK(port_when("") == "3000\n");
  }
}

TEST_CASE("playbook run: a converge step whose probe is cut short fails that host, before any change") {
  Fixture f;
  f.context.desired = [](const manifest::Server&, const std::vector<std::string>&, const debian::Release&) {
    converge::Desired d;
    d.resources = {converge::make(converge::File{.path = "/etc/x", .content = "x"}, "base")};
    return d;
  };
  f.hosts.remotes[0].answer("path_state", record("0", "type", "file") + record("0", "meta", "root root 644") +
                                              record("0", "content", "x") +
                                              record("os", "release", "debian 12 bookworm") + "@@berth end\n");
  f.hosts.remotes[1].lose_connection("path_state", record("0", "type", "file"));
  playbook::Step step;
  step.name = "provision";
  step.kind = playbook::StepKind::converge;
  const auto report = playbook::run_step(step, f.context);
  CHECK_FALSE(report.ok);
  REQUIRE(report.hosts.size() == 2);
  CHECK_FALSE(report.hosts[0].failed());
  CHECK(report.hosts[1].failed());
  CHECK(report.hosts[1].failed_step == "probe");
  CHECK(report.error.find("web-2: exec: connection lost") != std::string::npos);
  // The host that was fine was probed and found right: one exec, nothing applied.
  CHECK(f.hosts.remotes[0].sent.size() == 1);
}

TEST_CASE("playbook run: the server's Debian release decides the desired state; others are refused") {
  // The release hints of this test go to a folder of its own (debian::remembered).
  const auto cache = std::filesystem::temp_directory_path() / ("berth-test-cache-" + std::to_string(::getpid()));
  ::setenv("XDG_CACHE_HOME", cache.c_str(), 1);
  Fixture f;
  std::vector<int> asked;
  f.context.desired = [&](const manifest::Server&, const std::vector<std::string>&, const debian::Release& release) {
    asked.push_back(release.number);
    converge::Desired d;
    d.release = release;
    d.resources = {converge::make(converge::File{.path = "/etc/pg/" + release.postgresql, .content = "x"}, "base")};
    return d;
  };
  const auto found = [](const std::string& os) {
    return record("0", "type", "file") + record("0", "meta", "root root 644") + record("0", "content", "x") +
           record("os", "release", os) + "@@berth end\n";
  };
  // web-1 runs Debian 13: probed for 12 first (what berth assumes), then for 13.
  f.hosts.remotes[0].answer("/etc/pg/17", found("debian 13 trixie"));
  f.hosts.remotes[0].answer("/etc/pg/15", found("debian 13 trixie"));
  // web-2 runs Ubuntu: refused before any change.
  f.hosts.remotes[1].answer("path_state", found("ubuntu 24.04 noble"));
  playbook::Step step;
  step.name = "provision";
  step.kind = playbook::StepKind::converge;
  const auto report = playbook::run_step(step, f.context);
  REQUIRE(report.hosts.size() == 2);
  CHECK_FALSE(report.hosts[0].failed());
  CHECK(std::count(asked.begin(), asked.end(), 13) == 1);
  REQUIRE(f.hosts.remotes[0].sent.size() == 2);
  CHECK(f.hosts.remotes[0].sent[1].find("/etc/pg/17") != std::string::npos);
  CHECK(report.hosts[1].failed());
  CHECK(report.hosts[1].failed_step == "probe");
  CHECK(report.hosts[1].error == "it runs ubuntu 24.04, not Debian: berth supports Debian 12 (bookworm) and 13 (trixie)");
  CHECK(f.hosts.remotes[1].sent.size() == 1);

  SECTION("the next run remembers the release: one probe") {
    Fixture again;
    again.context.desired = f.context.desired;
    again.hosts.remotes[0].answer("/etc/pg/17", found("debian 13 trixie"));
    again.hosts.remotes[1].answer("path_state", found("ubuntu 24.04 noble"));
    const auto second = playbook::run_step(step, again.context);
    CHECK_FALSE(second.hosts[0].failed());
    CHECK(again.hosts.remotes[0].sent.size() == 1);
  }
  std::filesystem::remove_all(cache);
  ::unsetenv("XDG_CACHE_HOME");
}

TEST_CASE("debian: releases are identified from the probe's os record") {
  CHECK(debian::identify("debian 12 bookworm").release->postgresql == "15");
  CHECK(debian::identify("debian 13 trixie").release->postgresql == "17");
  CHECK(debian::identify("debian 13 trixie").release->codename == "trixie");
  CHECK(debian::identify("debian 11 bullseye").problem == "it runs Debian 11: berth supports Debian 12 (bookworm) and 13 (trixie)");
  CHECK(debian::identify("debian - forky").problem.find("testing or unstable") != std::string::npos);
  CHECK(debian::identify("- - -").problem.find("without /etc/os-release") != std::string::npos);
}
