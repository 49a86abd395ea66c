#include <core/util/hash.hpp>
#include <core/converge/apply.hpp>
#include <core/converge/plan.hpp>
#include <core/converge/probe.hpp>

#include <tests/unit/framed.hpp>

#include <catch2/catch.hpp>

using namespace berth::converge;
using berth::test::records;
using berth::test::record;

namespace {
// The probe's output read as run_script reads it, then parsed.
auto parse(const std::string& out, std::size_t count) {
  const auto ran = berth::test::framed(out);
  return parse_probe(ran.records, ran.ended, count);
}
}  // namespace

TEST_CASE("probe: the parser reads framed values, whatever they hold") {
  const std::string tricky = "line one\n@@berth 0 type file\nlast";
  const auto out = record("os", "id", "debian 12") + record("0", "type", "file") +
                   record("0", "meta", "www-data adm 640") + record("0", "content", tricky) +
                   record("1", "version", "installed 1.22.1-9") + record("2", "enabled", "enabled") +
                   record("2", "active", "failed") + record("file:db", "content", "pw\n") +
                   "@@berth end\n";
  const auto result = parse(out, 3);
  REQUIRE(result);
  CHECK(result->facts.at("os") == "debian 12");
  const auto& f = result->resources[0];
  CHECK(f.exists);
  CHECK(f.owner == "www-data");
  CHECK(f.mode == "0640");
  CHECK(f.content == tricky);
  CHECK(result->resources[1].version == "1.22.1-9");
  CHECK(result->resources[2].enabled);
  CHECK_FALSE(result->resources[2].active);
  CHECK(result->files.at("db") == "pw\n");
}

TEST_CASE("probe: broken output is an error, never a guess") {
  SECTION("no end marker") { CHECK_FALSE(parse(record("0", "type", "file"), 1)); }
  SECTION("length past the end") {
    CHECK_FALSE(berth::util::read_framed("@@berth 0 type 99\nfile\n", berth::util::Frame("berth")));
  }
  SECTION("stray text is no record") {
    const auto r = parse("hello\n@@berth0 type 4\nfile\n@@berth end\n", 1);
    REQUIRE(r);
    CHECK_FALSE(r->resources[0].exists);
  }
  SECTION("unknown resource") {
    CHECK_FALSE(parse(record("7", "type", "file") + "@@berth end\n", 1));
  }
  SECTION("a package that is not installed") {
    const auto r = parse(record("0", "version", "not-installed ") + "@@berth end\n", 1);
    REQUIRE(r);
    CHECK_FALSE(r->resources[0].exists);
  }
}

TEST_CASE("probe: the script quotes paths and covers every resource") {
  const std::vector<Resource> resources{make(File{.path = "/etc/it's.conf"}, "x"),
                                        make(Package{"nginx"}, "x"), make(Unit{"a.service"}, "x")};
  const auto script = render_probe(resources, {.read_files = {{"jwt", "/etc/berth/jwt"}}});
  CHECK(script.find("path_state 0 '/etc/it'\\''s.conf' show") != std::string::npos);
  CHECK(script.find("dpkg-query") != std::string::npos);
  CHECK(script.find("package_state 1 'nginx'") != std::string::npos);
  CHECK(script.find("rec units 2 \"$(systemctl show") != std::string::npos);
  CHECK(script.find("'a.service'") != std::string::npos);
  CHECK(script.find("file:jwt") != std::string::npos);
}

TEST_CASE("probe: one dpkg-query and one systemctl call, whatever the number of resources") {
  std::vector<Resource> resources;
  for (const char* p : {"nginx", "curl", "tzdata"}) resources.push_back(make(Package{p}, "x"));
  for (const char* u : {"a.service", "b.timer", "c@3000.service"}) resources.push_back(make(Unit{u}, "x"));
  const auto script = render_probe(resources);
  const auto count = [&](std::string_view what) {
    std::size_t n = 0;
    for (auto pos = script.find(what); pos != std::string::npos; pos = script.find(what, pos + 1)) ++n;
    return n;
  };
  CHECK(count("dpkg-query") == 1);
  CHECK(count("systemctl") == 1);
  CHECK(script.find("rec units 3,4,5 ") != std::string::npos);
}

TEST_CASE("probe: units come as systemctl show blocks, in order") {
  const std::string blocks =
      "ActiveState=active\nLoadState=loaded\nUnitFileState=enabled\n\n"
      "ActiveState=inactive\nLoadState=not-found\nUnitFileState=\n\n"
      "LoadState=loaded\nActiveState=failed\nUnitFileState=disabled";
  const auto r = parse(record("units", "0,2,3", blocks) + "@@berth end\n", 4);
  REQUIRE(r);
  CHECK(r->resources[0].exists);
  CHECK(r->resources[0].enabled);
  CHECK(r->resources[0].active);
  CHECK_FALSE(r->resources[2].exists);
  CHECK_FALSE(r->resources[2].enabled);
  CHECK(r->resources[3].exists);
  CHECK_FALSE(r->resources[3].enabled);
  CHECK(r->resources[3].active_state == "failed");
  CHECK_FALSE(parse(record("units", "0,9", blocks) + "@@berth end\n", 4));
}

TEST_CASE("probe: a shown file's hash is computed here, a hidden file's comes from sha256sum") {
  const auto r = parse(record("0", "type", "file") + record("0", "content", "hello\n") +
                                 record("1", "type", "file") + record("1", "hash", "abc123  -") +
                                 "@@berth end\n",
                             2);
  REQUIRE(r);
  CHECK(r->resources[0].hash == berth::util::sha256_hex("hello\n"));
  CHECK(r->resources[1].hash == "abc123");
}

TEST_CASE("apply: one script per stage, only changed resources, handlers once at the end") {
  const std::vector<Resource> resources{
      make(Package{"nginx"}, "proxy"),
      make(Package{"curl"}, "proxy"),
      make(File{.path = "/etc/nginx/sites-enabled/app", .content = "x", .validate = "nginx -t"},
           "proxy", {"reload:nginx.service"}),
      make(File{.path = "/etc/systemd/system/app.service", .content = "y"}, "app",
           {"daemon-reload", "restart:app.service"}),
      make(File{.path = "/etc/unchanged", .content = "z"}, "app", {"reload:never"}),
  };
  std::vector<Change> changes(resources.size());
  for (std::size_t i = 0; i < changes.size(); ++i) changes[i] = {i, Action::update, {}, {}};
  changes[4].action = Action::none;

  const auto packages = render_apply(Stage::packages, resources, changes);
  CHECK(packages.find("install --no-install-recommends 'nginx' 'curl'") != std::string::npos);
  CHECK(packages.find("DPkg::Lock::Timeout") != std::string::npos);

  const auto config = render_apply(Stage::config, resources, changes);
  CHECK(config.find("/etc/unchanged") == std::string::npos);
  CHECK(config.find("'nginx -t'") != std::string::npos);
  CHECK(triggered_handlers(Stage::config, resources, changes) ==
        std::vector<std::string>{"daemon-reload", "reload:nginx.service", "restart:app.service"});
  CHECK(config.find("run_step 'h:daemon-reload'") < config.find("run_step 'h:reload:nginx.service'"));

  CHECK(render_apply(Stage::services, resources, changes).empty());
}

TEST_CASE("apply: a resource marked before_packages runs before the stage's apt-get install") {
  std::vector<Resource> resources{
      make(Package{"postgresql"}, "postgresql"),
      make(File{.path = "/etc/postgresql-common/createcluster.d/berth.conf", .content = "x"}, "postgresql"),
      make(File{.path = "/etc/apt/sources.list.d/vendor.list", .content = "y"}, "app"),
  };
  resources[1].stage = Stage::packages;
  resources[1].before_packages = true;
  resources[2].stage = Stage::packages;
  std::vector<Change> changes(resources.size());
  for (std::size_t i = 0; i < changes.size(); ++i) changes[i] = {i, Action::create, {}, {}};
  const auto script = render_apply(Stage::packages, resources, changes);
  const auto install = script.find("run_step 0 s_packages");
  REQUIRE(install != std::string::npos);
  CHECK(script.find("run_step 1 ") < install);
  CHECK(script.find("run_step 2 ") > install);
}

TEST_CASE("apply: a reexec handler reloads, then waits for fresh listening sockets") {
  const std::vector<Resource> resources{
      make(File{.path = "/etc/ssh/sshd_config.d/00-berth.conf", .content = "x"}, "base",
           {"reexec:ssh.service"})};
  const std::vector<Change> changes{{0, Action::update, {}, {}}};
  const auto script = render_apply(Stage::config, resources, changes);
  const auto reload = script.find("systemctl reload 'ssh.service' || return");
  REQUIRE(reload != std::string::npos);
  CHECK(script.find("before=$(listeners)") < reload);
  CHECK(script.find("grep -qxF -e \"$before\"", reload) != std::string::npos);
  CHECK(script.find("ssh.service does not listen again 10 s after its reload") != std::string::npos);
}

TEST_CASE("apply: markers tell which step failed") {
  const auto report = parse_apply(records(record("0", "step", "begin") + record("0", "step", "ok") +
                                          record("3", "step", "begin") + record("3", "step", "failed 2")));
  CHECK(report.steps.at("0") == StepStatus::ok);
  CHECK(report.failed_step == "3");
  CHECK(report.failed_exit_code == 2);
}

TEST_CASE("apply: a command whose guard is met by then reports unchanged") {
  const std::vector<Resource> resources{make(Command{.run = "touch /x", .creates = "/x"}, "x")};
  const std::vector<Change> changes{{0, Action::create, {}, {}}};
  const auto script = render_apply(Stage::data, resources, changes);
  CHECK(script.find("if [ -e '/x' ]; then unchanged; return 0; fi") != std::string::npos);
  const auto report = parse_apply(records(record("0", "step", "begin") + record("0", "step", "unchanged") +
                                          record("0", "step", "ok") + "@@berth end\n"));
  CHECK(report.steps.at("0") == StepStatus::unchanged);
}

TEST_CASE("probe: owed handlers and files a cut-off run left unvalidated") {
  const std::vector<Resource> resources{
      make(File{.path = "/etc/nginx/sites-enabled/app", .content = "x", .validate = "nginx -t"}, "x"),
      make(File{.path = "/etc/plain", .content = "y"}, "x")};
  const auto script = render_probe(resources);
  CHECK(script.find("for f in /var/lib/berth/owed/*") != std::string::npos);
  const auto backup = validation_backup("/etc/nginx/sites-enabled/app");
  CHECK(backup.starts_with("/var/lib/berth/prev/"));
  CHECK(script.find("if [ -e " + backup + " ] || [ -e " + backup + ".none ]; then rec 0 unvalidated 1") !=
        std::string::npos);
  CHECK(script.find("rec 1 unvalidated") == std::string::npos);
  const auto r = parse(record("0", "unvalidated", "1") + record("owed", "handler", "reload:nginx.service") +
                           record("owed", "handler", "restart:$(reboot)") + "@@berth end\n",
                       2);
  REQUIRE(r);
  CHECK(r->resources[0].unvalidated);
  CHECK(r->owed == std::vector<std::string>{"reload:nginx.service"});
}

TEST_CASE("apply: a change with handlers owes them first; a handler clears its record") {
  const std::vector<Resource> resources{
      make(File{.path = "/etc/x.conf", .content = "x", .validate = "x -t"}, "x", {"restart:x@1.service"}),
      make(File{.path = "/etc/y.conf", .content = "y"}, "y")};
  const std::vector<Change> changes{{0, Action::update, {}, {}}, {1, Action::update, {}, {}}};
  const auto script = render_apply(Stage::config, resources, changes, {"reload:nginx.service"});
  CHECK(script.find("s_0() {\nowe 'restart:x@1.service' || return\nput_file") != std::string::npos);
  CHECK(script.find("s_1() {\nput_file") != std::string::npos);
  CHECK(script.find("put_file '/etc/x.conf' 'root' 'root' 0644 yes 'x -t' " + validation_backup("/etc/x.conf")) !=
        std::string::npos);
  CHECK(script.find("paid 'restart:x@1.service'") != std::string::npos);
  CHECK(script.find("run_step 'h:reload:nginx.service'") != std::string::npos);
  SECTION("owed handlers alone make a script") {
    std::vector<Change> none{{0, Action::none, {}, {}}, {1, Action::none, {}, {}}};
    const auto alone = render_apply(Stage::config, resources, none, {"daemon-reload"});
    CHECK(alone.find("run_step 'h:daemon-reload'") != std::string::npos);
    CHECK(alone.find("put_file '") == std::string::npos);
    CHECK(render_apply(Stage::config, resources, none).empty());
  }
  SECTION("only handlers the apply knows are taken from a server") {
    CHECK(known_handler("daemon-reload"));
    CHECK(known_handler("restart:shop@4000.service"));
    CHECK(known_handler("reexec:ssh.service"));
    CHECK_FALSE(known_handler("restart:"));
    CHECK_FALSE(known_handler("restart:a b"));
    CHECK_FALSE(known_handler("stop:nginx.service"));
  }
}
