#include <core/deploy/deploy.hpp>
#include <core/deploy/scripts.hpp>
#include <core/hosts.hpp>
#include <core/playbook/playbook.hpp>
#include <tests/unit/fake_remote.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace berth;
using test::FakeHosts;
using test::record;

namespace {

manifest::Manifest deploy_sample() {
  manifest::Manifest m;
  m.app.name = "shop";
  m.app.run.command = "node server.js";
  m.app.run.port = 4000;
  m.app.run.instances = 1;
  m.servers = {{.name = "web-1", .address = "198.18.0.2"}};
  m.proxy = manifest::Proxy{};
  return m;
}

// The built-in rollback playbook: choose, start, switch, gate, finalize, post_deploy.
playbook::Playbook rollback() { return playbook::load_playbook("/nonexistent", "rollback"); }

// Who this process is, as the deploy lock records it.
std::string me() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const char* user = std::getenv("USER");
  return std::string(user ? user : "root") + "@" + host;
}

// A host with releases r1 (served) and r2 (current, live on blue) that answers every
// step of a rollback as a healthy server would.
void healthy_host(test::FakeRemote& remote) {
  remote.answer("ls -1r", record("state", "live", "blue") + record("state", "current", "r2") +
                              record("state", "release", "r2") + record("state", "served", "r2") +
                              record("state", "release", "r1") + record("state", "served", "r1"));
  remote.answer("systemctl restart", record("4001", "probe", "200 3") + record("4001", "body", "ok"));
  remote.answer("nginx -t", "");
  remote.answer("current.new", "");
  remote.answer("token=", "");  // heartbeat and release of the lock
}

std::vector<const manifest::Server*> servers(const manifest::Manifest& m) {
  std::vector<const manifest::Server*> out;
  for (const auto& s : m.servers) out.push_back(&s);
  return out;
}

bool sent_any(const test::FakeRemote& remote, std::string_view what) {
  return std::any_of(remote.sent.begin(), remote.sent.end(),
                     [&](const std::string& s) { return s.find(what) != std::string::npos; });
}

// The fleet of the batch tests: app1-3 answering as healthy_host does, but app2's new
// instance answering 500 to its direct check, and lb (host 4) with no release.
void answer_fleet(FakeHosts& hosts) {
  for (std::size_t i = 0; i < hosts.remotes.size(); ++i) {
    auto& remote = hosts.remotes[i];
    remote.answer("if ! mkdir", "");
    if (i == 1) {
      remote.answer("systemctl restart", record("4001", "probe", "500 3") + record("4001", "body", "boom"));
      remote.answer("do probe $p", record("4001", "probe", "500 3") + record("4001", "body", "boom"));
    }
    if (i == 3) remote.answer("ls -1r", "");
    healthy_host(remote);
    remote.answer("@@berth-upstream", "");
  }
}

}  // namespace

TEST_CASE("deploy run: a lock left by a dead run of this machine is taken over") {
  auto m = deploy_sample();
  FakeHosts hosts(1);
  auto& remote = hosts.remotes[0];
  // The lock is held by this machine's berth with a pid that no longer exists.
  const std::string info = "token=deadbeef\nowner=" + me() + "\npid=999999999\ncommand=deploy\n"
                           "started=1\nheartbeat=1\nttl=900";
  remote.answer("'deadbeef' ] && holder_alive", "");  // the takeover: acquire with the dead run's token
  remote.answer("if ! mkdir", record("lock", "info", info), deploy::lock_held_status);
  healthy_host(remote);
  const auto result = deploy::run(m, rollback(), servers(m), hosts, {.target = "r1"}, {});
  INFO(result.error);
  CHECK(result.ok);
  CHECK(sent_any(remote, "'deadbeef' ] && holder_alive"));

  SECTION("someone else's lock is not taken: exit 4 naming the holder") {
    FakeHosts other(1);
    auto& busy = other.remotes[0];
    busy.answer("if ! mkdir",
                record("lock", "info", "token=t2\nowner=ci@runner\npid=1\ncommand=deploy\nstarted=1\n"
                                       "heartbeat=9999999999\nttl=900"),
                deploy::lock_held_status);
    busy.answer("token=", "");
    const auto held = deploy::run(m, rollback(), servers(m), other, {.target = "r1"}, {});
    CHECK_FALSE(held.ok);
    CHECK(held.lock_held);
    CHECK(held.error.find("held by ci@runner") != std::string::npos);
    CHECK_FALSE(sent_any(busy, "'t2' ] && holder_alive"));
  }
}

TEST_CASE("deploy run: a failed gate switches back and stops the new instances") {
  auto m = deploy_sample();
  // A health check nothing answers (port 9 on loopback): the gate fails.
  m.health.push_back({.name = "down", .kind = "http", .url = "http://127.0.0.1:9/"});
  m.health.back().conditions.push_back({.text = "[STATUS] == 200"});
  FakeHosts hosts(1);
  auto& remote = hosts.remotes[0];
  remote.answer("if ! mkdir", "");
  healthy_host(remote);
  const auto result = deploy::run(m, rollback(), servers(m), hosts,
                                  {.target = "r1", .gate_deadline = std::chrono::milliseconds(300)}, {});
  CHECK_FALSE(result.ok);
  CHECK(result.switched_back);
  // The last scripts put the old (blue) upstream back, then stop the green instance.
  const auto stop = std::find_if(remote.sent.rbegin(), remote.sent.rend(), [](const std::string& s) {
    return s.find("disable --quiet --now shop@4001.service") != std::string::npos;
  });
  REQUIRE(stop != remote.sent.rend());
  const auto back = std::find_if(stop, remote.sent.rend(), [](const std::string& s) {
    return s.find("127.0.0.1:4000") != std::string::npos && s.find("nginx -t") != std::string::npos;
  });
  CHECK(back != remote.sent.rend());
  CHECK_FALSE(sent_any(remote, "current.new"));
}

TEST_CASE("deploy run: an unreachable host fails the run with exit 5 and the hint") {
  auto m = deploy_sample();
  FakeHosts hosts(1);
  hosts.unreachable = {true};
  const auto result = deploy::run(m, rollback(), servers(m), hosts, {.target = "r1"}, {});
  CHECK_FALSE(result.ok);
  CHECK(result.unreachable);
  CHECK(result.error.find("web-1: connect: refused") != std::string::npos);
  CHECK(result.error.find("is sshd running?") != std::string::npos);
}

TEST_CASE("hosts: one exit status for a run, and one message for a failed script") {
  HostResults results(3);
  results[0].host = "a";
  results[1].host = "b";
  results[2].host = "c";
  CHECK(exit_status(results) == ExitCode::ok);
  results[1].error = Error("b: boom");
  CHECK(exit_status(results) == ExitCode::failure);
  results[2].error = Error("c: connect: refused", ExitCode::unreachable);
  CHECK(exit_status(results) == ExitCode::unreachable);
  results[1].error.reset();
  results[2].error.reset();
  results[0].skipped = true;
  CHECK(exit_status(results) == ExitCode::failure);

  test::FakeRemote remote("web");
  ScriptResult r;
  r.exit_status = 3;
  r.err = "one\ntwo\nthree\n";
  const auto e = script_failed(remote, "the migration", r, 2);
  CHECK(std::string(e.what()) == "web: the migration failed (exit status 3)\ntwo\nthree");
  r.signal = "KILL";
  CHECK(std::string(script_failed(remote, "x", r, 0).what()) == "web: x failed (killed by signal KILL)");
}

TEST_CASE("deploy run: restart starts the live release again, blue/green, and clears the owed record") {
  auto m = deploy_sample();
  const auto restart = playbook::load_playbook("/nonexistent", "restart");
  SECTION("a live release: started on the idle color, switched to, made current") {
    FakeHosts hosts(1);
    auto& remote = hosts.remotes[0];
    remote.answer("if ! mkdir", "");
    healthy_host(remote);
    const auto result = deploy::run(m, restart, servers(m), hosts, {}, {});
    INFO(result.error);
    CHECK(result.ok);
    CHECK(result.release == "r2");
    CHECK(sent_any(remote, "ln -sfn '/srv/shop'/releases/r2 '/srv/shop'/instances/$p.new"));
    CHECK(sent_any(remote, "-nt '/srv/shop'/instances ]; then rm -f '/var/lib/berth/owed/release:shop'"));
  }
  SECTION("nothing live yet: nothing to start, the owed record goes") {
    FakeHosts hosts(1);
    auto& remote = hosts.remotes[0];
    remote.answer("if ! mkdir", "");
    remote.answer("ls -1r", record("state", "live", "blue") + record("state", "current", ""));
    remote.answer("rm -f '/var/lib/berth/owed/release:shop'", "");
    remote.answer("token=", "");
    const auto result = deploy::run(m, restart, servers(m), hosts, {}, {});
    CHECK(result.ok);
    CHECK(result.release.empty());
    CHECK(sent_any(remote, "rm -f '/var/lib/berth/owed/release:shop'"));
    CHECK_FALSE(sent_any(remote, "systemctl restart"));
  }
}

TEST_CASE("deploy run: a rollback run again after it was cut off finishes the same rollback") {
  auto m = deploy_sample();
  FakeHosts hosts(1);
  auto& remote = hosts.remotes[0];
  remote.answer("if ! mkdir", "");
  // r0, r1 and r2 have served; a rollback from r2 to r1 was cut off after its
  // finalize made r1 current: the record of its target is still there.
  remote.answer("ls -1r", record("state", "live", "green") + record("state", "current", "r1") +
                              record("state", "rollback", "r1") + record("state", "release", "r2") +
                              record("state", "served", "r2") + record("state", "release", "r1") +
                              record("state", "served", "r1") + record("state", "release", "r0") +
                              record("state", "served", "r0"));
  healthy_host(remote);
  const auto result = deploy::run(m, rollback(), servers(m), hosts, {}, {});
  INFO(result.error);
  CHECK(result.ok);
  CHECK(result.release == "r1");
  CHECK(sent_any(remote, "printf '%s\\n' 'r1' > '/var/lib/berth/shop/rollback'"));

  SECTION("without the record, the previous served release is chosen") {
    FakeHosts fresh(1);
    auto& plain = fresh.remotes[0];
    plain.answer("if ! mkdir", "");
    healthy_host(plain);
    const auto back = deploy::run(m, rollback(), servers(m), fresh, {}, {});
    CHECK(back.ok);
    CHECK(back.release == "r1");
  }
}

TEST_CASE("deploy run: every script of the run is fenced by the lock and a new step") {
  auto m = deploy_sample();
  FakeHosts hosts(1);
  auto& remote = hosts.remotes[0];
  remote.answer("if ! mkdir", "");
  healthy_host(remote);
  const auto result = deploy::run(m, rollback(), servers(m), hosts, {.target = "r1"}, {});
  REQUIRE(result.ok);
  std::vector<std::string> steps;
  for (const auto& s : remote.sent) {
    if (s.find("if ! mkdir") != std::string::npos || s.find("then rm -rf") != std::string::npos) continue;  // the lock itself
    const auto at = s.find("> \"$lockdir/step\"");
    INFO(s.substr(0, 300));
    REQUIRE(at != std::string::npos);
    steps.push_back(s.substr(s.rfind("printf", at), at - s.rfind("printf", at)));
  }
  // Each step records a step of its own: an earlier step's script still running
  // after its connection was cut fails its next fence.
  std::sort(steps.begin(), steps.end());
  CHECK(std::adjacent_find(steps.begin(), steps.end()) == steps.end());
}

TEST_CASE("deploy run: a host whose Node.js package.json's engines do not allow is warned about, not failed") {
  // The project: a package.json asking for Node 20 or later, packed from a temp folder.
  const auto dir = std::filesystem::temp_directory_path() / ("berth-engines-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "package.json") << R"({"name": "shop", "engines": {"node": ">=20"}})";
  auto m = deploy_sample();
  m.dir = dir;
  const auto run_with_node = [&](const std::string& version) {
    FakeHosts hosts(1);
    auto& remote = hosts.remotes[0];
    remote.answer("if ! mkdir", "");
    // The prepare step: the state, and the Node.js the host runs.
    remote.answer("chown -R", record("state", "live", "blue") + record("state", "current", "r2") +
                                  record("state", "node", version));
    healthy_host(remote);
    auto result = deploy::run(m, playbook::load_playbook("/nonexistent", "deploy"), servers(m), hosts, {}, {});
    CHECK(remote.uploads.size() == 1);
    CHECK(sent_any(remote, "rec state node \"$(node --version 2>/dev/null)\""));
    return result;
  };
  SECTION("Debian 12's Node 18: the deploy goes on, with a warning naming host, versions and what to do") {
    const auto result = run_with_node("v18.19.0");
    INFO(result.error);
    CHECK(result.ok);
    REQUIRE(result.warnings.size() == 1);
    CHECK(result.warnings[0] ==
          "web-1 runs Node.js v18.19.0, which package.json's engines.node \">=20\" does not allow: set node = "
          "\"24\" in [app.run] (Node.js 24 from NodeSource, docs/manifest.md), then run `berth setup`");
  }
  SECTION("a Node.js that satisfies the range: no warning") {
    const auto result = run_with_node("v20.19.2");
    CHECK(result.ok);
    CHECK(result.warnings.empty());
  }
  SECTION("no node on the host: nothing to compare") {
    const auto result = run_with_node("");
    CHECK(result.warnings.empty());
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("deploy run: batches switch app servers one at a time, and a failed batch puts every one back") {
  auto m = deploy_sample();
  m.servers = {{.name = "app1", .address = "198.18.0.11", .roles = {"app"}},
               {.name = "app2", .address = "198.18.0.12", .roles = {"app"}, .private_address = "10.0.0.12"},
               {.name = "app3", .address = "198.18.0.13", .roles = {"app"}},
               {.name = "lb", .address = "198.18.0.10", .roles = {"proxy"}}};
  m.deploy.batch = 1;
  // app2's new instance answers 500 directly: its batch fails before the switch.
  FakeHosts hosts(4);
  answer_fleet(hosts);
  const auto result = deploy::run(m, rollback(), servers(m), hosts,
                                  {.target = "r1", .gate_deadline = std::chrono::milliseconds(300)}, {});
  INFO(result.error);
  CHECK_FALSE(result.ok);
  CHECK(result.switched_back);
  CHECK(result.error.find("start (batch 2/3: app2)") != std::string::npos);
  CHECK(result.error.find("app2 port 4001: [STATUS] < 500") != std::string::npos);
  const auto& app1 = hosts.remotes[0];
  const auto& app3 = hosts.remotes[2];
  const auto& lb = hosts.remotes[3];
  // Batch 1 went through: lb sent app1's requests to its green instance, app1 recorded it.
  const auto upstreams = [](const test::FakeRemote& r) {
    std::vector<std::string> out;
    for (const auto& s : r.sent) {
      if (s.find("@@berth-upstream") != std::string::npos) out.push_back(s);
    }
    return out;
  };
  const auto lb_switches = upstreams(lb);
  REQUIRE(lb_switches.size() >= 3);  // aligned, batch 1, back
  CHECK(lb_switches[1].find("/etc/berth/shop/upstream.d/app1.conf") != std::string::npos);
  CHECK(lb_switches[1].find("server 198.18.0.11:4001 ") != std::string::npos);
  CHECK(lb_switches[1].find("server 10.0.0.12:4000 ") != std::string::npos);
  CHECK(lb_switches[1].find("server 198.18.0.13:4000 ") != std::string::npos);
  CHECK(lb_switches.back().find("server 198.18.0.11:4000 ") != std::string::npos);
  CHECK(lb_switches.back().find("nginx -t") != std::string::npos);
  const auto app1_records = upstreams(app1);
  REQUIRE(app1_records.size() == 2);
  CHECK(app1_records[0].find("server 127.0.0.1:4001 ") != std::string::npos);
  CHECK(app1_records[0].find("nginx -t") == std::string::npos);
  CHECK(app1_records[1].find("server 127.0.0.1:4000 ") != std::string::npos);
  // Every started instance stopped; batch 3 never started; nothing became current.
  CHECK(sent_any(app1, "disable --quiet --now shop@4001.service"));
  CHECK(sent_any(hosts.remotes[1], "disable --quiet --now shop@4001.service"));
  CHECK_FALSE(sent_any(app3, "systemctl restart"));
  for (const auto& r : hosts.remotes) CHECK_FALSE(sent_any(r, "current.new"));
}

TEST_CASE("deploy run: without a proxy a release restarts the instances in place, and a failure restarts the previous one") {
  auto m = deploy_sample();
  m.proxy.reset();
  FakeHosts hosts(1);
  auto& remote = hosts.remotes[0];
  remote.answer("if ! mkdir", "");
  remote.answer("systemctl restart", record("4000", "probe", "200 3") + record("4000", "body", "ok"));
  healthy_host(remote);
  const auto fine = deploy::run(m, rollback(), servers(m), hosts, {.target = "r1"}, {});
  INFO(fine.error);
  CHECK(fine.ok);
  // On the ports clients reach: blue, never green; nothing switches.
  CHECK(sent_any(remote, "ln -sfn '/srv/shop'/releases/r1 '/srv/shop'/instances/$p.new"));
  CHECK(sent_any(remote, "for p in 4000; do\n  ln -sfn"));
  CHECK_FALSE(sent_any(remote, "for p in 4001; do\n  ln -sfn"));
  // Each step reports the host's share: the start ran commands on web-1.
  const auto start =
      std::find_if(fine.steps.begin(), fine.steps.end(), [](const auto& s) { return s.name == "start"; });
  REQUIRE(start != fine.steps.end());
  REQUIRE(start->hosts.size() == 1);
  CHECK(start->hosts[0].host == "web-1");
  CHECK(start->hosts[0].execs >= 1);
  CHECK_FALSE(sent_any(remote, "@@berth-upstream"));

  SECTION("a failed gate starts the release that was current again, on the same ports") {
    m.health.push_back({.name = "down", .kind = "http", .url = "http://127.0.0.1:9/"});
    m.health.back().conditions.push_back({.text = "[STATUS] == 200"});
    FakeHosts again(1);
    auto& r = again.remotes[0];
    r.answer("if ! mkdir", "");
    r.answer("systemctl restart", record("4000", "probe", "200 3") + record("4000", "body", "ok"));
    healthy_host(r);
    const auto failed = deploy::run(m, rollback(), servers(m), again,
                                    {.target = "r1", .gate_deadline = std::chrono::milliseconds(300)}, {});
    CHECK_FALSE(failed.ok);
    CHECK(failed.switched_back);
    const auto& last = r.sent[r.sent.size() - 2];  // then the lock's release
    CHECK(last.find("releases/r2 '/srv/shop'/instances/$p.new") != std::string::npos);
    CHECK(last.find("systemctl enable --quiet shop@4000.service") != std::string::npos);
    CHECK_FALSE(sent_any(r, "current.new && mv -fT '/srv/shop'/current.new '/srv/shop'/current\ntouch"));
  }
}

TEST_CASE("deploy run: within max_fail a failed batch goes back alone and the next one goes on") {
  auto m = deploy_sample();
  m.servers = {{.name = "app1", .address = "198.18.0.11", .roles = {"app"}},
               {.name = "app2", .address = "198.18.0.12", .roles = {"app"}},
               {.name = "app3", .address = "198.18.0.13", .roles = {"app"}},
               {.name = "lb", .address = "198.18.0.10", .roles = {"proxy"}}};
  m.deploy.batch = 1;
  m.deploy.max_fail = 1;
  FakeHosts hosts(4);
  answer_fleet(hosts);
  const auto result = deploy::run(m, rollback(), servers(m), hosts,
                                  {.target = "r1", .gate_deadline = std::chrono::milliseconds(300)}, {});
  INFO(result.error);
  CHECK_FALSE(result.ok);
  CHECK_FALSE(result.switched_back);
  CHECK(result.error.find("1 of 3 app server(s) failed and serve the previous release (app2)") != std::string::npos);
  CHECK(result.error.find("app2 port 4001: [STATUS] < 500") != std::string::npos);
  // app1 and app3 went on to the release; app2 went back and never became current.
  CHECK(sent_any(hosts.remotes[0], "current.new"));
  CHECK(sent_any(hosts.remotes[2], "current.new"));
  CHECK_FALSE(sent_any(hosts.remotes[1], "current.new"));
  CHECK(sent_any(hosts.remotes[1], "disable --quiet --now shop@4001.service"));
  // The proxy's last upstream: app1 and app3 on green, app2 on blue.
  std::string last;
  for (const auto& s : hosts.remotes[3].sent) {
    if (s.find("@@berth-upstream") != std::string::npos) last = s;
  }
  CHECK(last.find("server 198.18.0.11:4001 ") != std::string::npos);
  CHECK(last.find("server 198.18.0.12:4000 ") != std::string::npos);
  CHECK(last.find("server 198.18.0.13:4001 ") != std::string::npos);

  SECTION("beyond max_fail the whole fleet goes back") {
    m.deploy.max_fail = 0;
    FakeHosts again(4);
    answer_fleet(again);
    const auto all = deploy::run(m, rollback(), servers(m), again,
                                 {.target = "r1", .gate_deadline = std::chrono::milliseconds(300)}, {});
    CHECK_FALSE(all.ok);
    CHECK(all.switched_back);
    CHECK_FALSE(sent_any(again.remotes[2], "systemctl restart"));
  }
}

TEST_CASE("deploy run: before anything starts the proxies follow the color each app server records as live") {
  auto m = deploy_sample();
  m.servers = {{.name = "app1", .address = "198.18.0.11", .roles = {"app"}},
               {.name = "app2", .address = "198.18.0.12", .roles = {"app"}},
               {.name = "lb", .address = "198.18.0.10", .roles = {"proxy"}}};
  FakeHosts hosts(3);
  for (std::size_t i = 0; i < 3; ++i) {
    auto& remote = hosts.remotes[i];
    remote.answer("if ! mkdir", "");
    // app1's record says green (a run cut off after its record, before the proxies).
    if (i == 0) {
      remote.answer("ls -1r", record("state", "live", "green") + record("state", "current", "r2") +
                                  record("state", "release", "r2") + record("state", "served", "r2") +
                                  record("state", "release", "r1") + record("state", "served", "r1"));
      remote.answer("systemctl restart", record("4000", "probe", "200 3") + record("4000", "body", "ok"));
    }
    if (i == 2) remote.answer("ls -1r", "");
    healthy_host(remote);
    remote.answer("@@berth-upstream", "");
  }
  const auto result = deploy::run(m, rollback(), servers(m), hosts, {.target = "r1"}, {});
  INFO(result.error);
  CHECK(result.ok);
  std::vector<std::string> lb;
  for (const auto& s : hosts.remotes[2].sent) {
    if (s.find("@@berth-upstream") != std::string::npos) lb.push_back(s);
  }
  REQUIRE(lb.size() == 2);
  // Aligned first: app1 green, app2 blue; then the switch: app1 blue, app2 green.
  CHECK(lb[0].find("server 198.18.0.11:4001 ") != std::string::npos);
  CHECK(lb[0].find("server 198.18.0.12:4000 ") != std::string::npos);
  CHECK(lb[1].find("server 198.18.0.11:4000 ") != std::string::npos);
  CHECK(lb[1].find("server 198.18.0.12:4001 ") != std::string::npos);
  // app1's new release started on blue, the color the proxies did not use.
  CHECK(sent_any(hosts.remotes[0], "for p in 4000; do\n  ln -sfn"));
}
