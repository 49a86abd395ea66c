#include <core/converge/apply.hpp>
#include <core/deploy/scripts.hpp>
#include <core/layout/layout.hpp>
#include <core/util/process.hpp>
#include <tests/unit/framed.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace berth;
using namespace berth::deploy;

namespace {

manifest::Manifest scripts_sample() {
  manifest::Manifest m;
  m.app.name = "shop";
  m.app.run.command = "node server.js";
  m.app.run.port = 3000;
  m.app.run.instances = 2;
  m.servers = {{.name = "web", .address = "198.18.0.2"}};
  m.proxy = manifest::Proxy{};
  return m;
}

// Whether /bin/sh (dash on Debian, as on the servers) parses `script`.
void check_parses(const std::string& script) {
  auto result = run_process({"/bin/sh", "-n"}, {.stdin_text = script});
  REQUIRE(result.has_value());
  INFO(script);
  INFO(result->err);
  CHECK(result->ok());
}

}  // namespace

TEST_CASE("deploy scripts: every script is valid POSIX sh") {
  const auto m = scripts_sample();
  const LockInfo me{.token = "t1", .owner = "me@laptop", .pid = "42", .command = "deploy",
                    .started = 1, .heartbeat = 1, .ttl = 60};
  check_parses(lock_acquire_script(m, me));
  check_parses(lock_acquire_script(m, me, "old-token"));
  check_parses(lock_fence_script(m, "t1", "s1"));
  check_parses(lock_release_script(m, "t1"));
  check_parses(lock_release_script(m, ""));
  check_parses(lock_status_script(m));
  check_parses(prepare_script(m, "20261125T000000Z"));
  check_parses(state_script(m));
  check_parses(migrate_script(m, "20261125T000000Z", "node migrate.js"));
  check_parses(start_script(m, "20261125T000000Z", {3002, 3003}, "/health", std::chrono::seconds(30)));
  check_parses(probe_script({3002, 3003}, "/health"));
  check_parses(upstream_script({{layout::upstream_file(m), layout::upstream_content({3002, 3003})}}, true));
  check_parses(finalize_script(m, "20261125T000000Z", {3002, 3003}, {3000, 3001}, std::chrono::seconds(2)));
  check_parses(stop_script(m, {3002, 3003}, 20));
  check_parses(serve_again_script(m, "20261125T000000Z", {3000, 3001}, std::chrono::seconds(30)));
}

TEST_CASE("deploy scripts: a python release gets its virtualenv before it is marked complete") {
  auto m = scripts_sample();
  CHECK(prepare_script(m, "r1").find("venv") == std::string::npos);
  CHECK(migrate_script(m, "r1", "x").find("PATH") == std::string::npos);
  m.app.run.runtime = "python";
  const auto prepare = prepare_script(m, "r1");
  check_parses(prepare);
  const auto venv = prepare.find("python3 -m venv .venv");
  REQUIRE(venv != std::string::npos);
  CHECK(venv < prepare.find("touch \"$rel/.berth-release\""));
  CHECK(prepare.find("pip install") != std::string::npos);
  const auto migrate = migrate_script(m, "r1", "alembic upgrade head");
  check_parses(migrate);
  CHECK(migrate.find("Environment=PATH=/srv/shop/releases/r1/.venv/bin:") != std::string::npos);
}

TEST_CASE("deploy scripts: the switch tests nginx before reloading and waits for the old workers") {
  const auto script = upstream_script({{layout::upstream_file(scripts_sample()), layout::upstream_content({3002, 3003})}}, true);
  const auto test = script.find("nginx -t");
  const auto reload = script.find("systemctl reload nginx.service");
  REQUIRE(test != std::string::npos);
  REQUIRE(reload != std::string::npos);
  CHECK(test < reload);
  // The previous upstream is put back when the test fails.
  CHECK(script.find("mv -f \"$f0.prev\" \"$f0\"") != std::string::npos);
  CHECK(script.find("server 127.0.0.1:3002") != std::string::npos);
  CHECK(script.find("server 127.0.0.1:3003") != std::string::npos);
  // Old workers still accept connections for the old upstream right after the
  // reload: the script waits until they are shutting down.
  CHECK(script.find("shutting", reload) != std::string::npos);
}

namespace {

// Runs an upstream_script in a folder of its own: `fence` a no-op, nginx and
// systemctl stubs on PATH (nginx -t fails when NGINX_FAILS is set; systemctl notes
// each call in calls), the owed records under the folder.
struct UpstreamRun {
  std::filesystem::path dir;
  UpstreamRun() {
    dir = std::filesystem::temp_directory_path() / ("berth-upstream-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir / "bin");
    write("bin/nginx", "#!/bin/sh\n[ -z \"$NGINX_FAILS\" ] || { echo 'emerg: bad' >&2; exit 1; }\n");
    write("bin/systemctl", "#!/bin/sh\necho \"$*\" >> \"$DIR/calls\"\n");
    std::filesystem::permissions(dir / "bin/nginx", std::filesystem::perms::owner_all);
    std::filesystem::permissions(dir / "bin/systemctl", std::filesystem::perms::owner_all);
  }
  ~UpstreamRun() { std::filesystem::remove_all(dir); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir / name) << text; }
  std::string read(const std::string& name) const {
    std::ifstream in(dir / name);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  bool run(std::string script, bool nginx_fails = false) const {
    for (auto at = script.find(converge::owed_dir); at != std::string::npos; at = script.find(converge::owed_dir)) {
      script.replace(at, converge::owed_dir.size(), (dir / "owed").string());
    }
    ProcessOptions options{.stdin_text = "fence() { :; }\n" + script};
    options.env = {{"PATH", (dir / "bin").string() + ":/usr/bin:/bin"}, {"DIR", dir.string()}};
    if (nginx_fails) options.env["NGINX_FAILS"] = "1";
    const auto result = run_process({"/bin/sh"}, options);
    REQUIRE(result.has_value());
    return result->ok();
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

}  // namespace

TEST_CASE("deploy scripts: upstream_script replaces only the files that differ, and reloads only then") {
  UpstreamRun t;
  t.write("a.conf", "server 127.0.0.1:3000;\n");
  t.write("b.conf", "old\n");
  // Unchanged: no reload.
  REQUIRE(t.run(upstream_script({{t.path("a.conf"), "server 127.0.0.1:3000;\n"}}, true)));
  CHECK(t.read("calls").empty());
  // One of two differs: it alone is replaced, nginx reloads once.
  REQUIRE(t.run(upstream_script({{t.path("a.conf"), "server 127.0.0.1:3000;\n"}, {t.path("b.conf"), "new\n"},
                                 {t.path("d/c.conf"), "made\n"}},
                                true)));
  CHECK(t.read("a.conf") == "server 127.0.0.1:3000;\n");
  CHECK(t.read("b.conf") == "new\n");
  CHECK(t.read("d/c.conf") == "made\n");
  CHECK(t.read("calls") == "reload nginx.service\n");
  CHECK_FALSE(std::filesystem::exists(t.dir / "owed"/ "reload:nginx.service"));
  // nginx -t fails: every replaced file is put back (a new one removed), nothing reloads,
  // and what follows the script does not run.
  CHECK_FALSE(t.run(upstream_script({{t.path("b.conf"), "newer\n"}, {t.path("e.conf"), "x\n"}}, true) +
                        "echo after > \"$DIR/after\"\n",
                    true));
  CHECK(t.read("b.conf") == "new\n");
  CHECK_FALSE(std::filesystem::exists(t.dir / "e.conf"));
  CHECK_FALSE(std::filesystem::exists(t.dir / "after"));
  CHECK(t.read("calls") == "reload nginx.service\n");
  // Without nginx (an app server's own record): replaced, nothing else; the script
  // goes on to what follows.
  REQUIRE(t.run(upstream_script({{t.path("a.conf"), "server 127.0.0.1:3002;\n"}}, false) +
                "echo after > \"$DIR/after\"\n"));
  CHECK(t.read("a.conf") == "server 127.0.0.1:3002;\n");
  CHECK(t.read("after") == "after\n");
  CHECK(t.read("calls") == "reload nginx.service\n");
}

TEST_CASE("deploy scripts: parse_probes reads framed records, bodies with newlines included") {
  using test::record;
  const auto probes = parse_probes(
      test::framed(record("3002", "probe", "200 12") + record("3002", "body", "ok\nyes") +
                   "@@probe 3009 200 1 0\n" + record("3003", "probe", "0 0") + record("3003", "body", ""))
          .records);
  REQUIRE(probes.size() == 2);
  CHECK(probes[0].port == 3002);
  CHECK(probes[0].status == 200);
  CHECK(probes[0].time == std::chrono::milliseconds(12));
  CHECK(probes[0].body == "ok\nyes");
  CHECK(probes[1].port == 3003);
  CHECK(probes[1].status == 0);
}

namespace {

// A TCP connection to a port of 127.0.0.1 that this process listens on: established
// until the object goes.
struct Connection {
  int listener = -1, client = -1, server = -1;
  int port = 0;
  Connection() {
    listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener, 1) == 0);
    REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    server = ::accept(listener, nullptr, nullptr);
    REQUIRE(server >= 0);
  }
  ~Connection() {
    for (int fd : {client, server, listener}) {
      if (fd >= 0) ::close(fd);
    }
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
};

// What the drain wait says on stderr for `ports`, given `drain`.
std::string drain_said(const std::vector<int>& ports, std::chrono::milliseconds drain) {
  const auto result = run_process({"/bin/sh"}, {.stdin_text = drain_wait_script(ports, drain)});
  REQUIRE(result.has_value());
  CHECK(result->ok());
  return result->err;
}

}  // namespace

TEST_CASE("deploy scripts: instances leaving service stop once nothing is in flight, drain at most") {
  Connection busy;
  Connection other;
  INFO("listening on " << busy.port << " and " << other.port);
  SECTION("an established connection to a port is waited for, up to the drain") {
    const auto said = drain_said({busy.port}, std::chrono::milliseconds(300));
    CHECK(said.find("requests still in flight after the drain (300ms)") != std::string::npos);
  }
  SECTION("ports without connections are not waited for") {
    const int idle = busy.port == 65535 ? 1 : busy.port + 1;  // nothing of this test on it
    CHECK(drain_said({idle == other.port ? idle + 1 : idle}, std::chrono::seconds(60)).empty());
  }
  SECTION("no drain, no wait") { CHECK(drain_wait_script({busy.port}, std::chrono::milliseconds(0)).empty()); }
  const auto finalize = finalize_script(scripts_sample(), "r1", {3002}, {3000}, std::chrono::seconds(3));
  CHECK(finalize.find(drain_wait_script({3000}, std::chrono::seconds(3))) != std::string::npos);
}
