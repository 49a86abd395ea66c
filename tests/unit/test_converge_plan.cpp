#include <core/util/hash.hpp>
#include <core/converge/plan.hpp>

#include <catch2/catch.hpp>

using namespace berth::converge;

namespace {

Observed file_seen(const std::string& content, std::string mode = "0644") {
  Observed o;
  o.exists = true;
  o.type = "file";
  o.hash = berth::util::sha256_hex(content);
  o.owner = "root";
  o.group = "root";
  o.mode = std::move(mode);
  o.content = content;
  return o;
}

Change plan_one(Resource r, Observed o) { return plan({std::move(r)}, {std::move(o)}).at(0); }

}  // namespace

TEST_CASE("plan: files") {
  const auto r = make(File{.path = "/etc/app.conf", .content = "a\nb\n"}, "app");

  SECTION("missing: create, with the whole content as diff") {
    const auto c = plan_one(r, Observed{});
    CHECK(c.action == Action::create);
    CHECK(c.diff.find("+a\n+b\n") != std::string::npos);
  }
  SECTION("identical: nothing") {
    CHECK(plan_one(r, file_seen("a\nb\n")).action == Action::none);
  }
  SECTION("identical but left unvalidated by a cut-off run: validated again") {
    auto seen = file_seen("a\nb\n");
    seen.unvalidated = true;
    const auto c = plan_one(r, seen);
    CHECK(c.action == Action::update);
    CHECK(c.reasons == std::vector<std::string>{"not validated (a run was cut off)"});
  }
  SECTION("edited by hand: update with a unified diff") {
    const auto c = plan_one(r, file_seen("a\nX\n"));
    CHECK(c.action == Action::update);
    CHECK(c.reasons == std::vector<std::string>{"content"});
    CHECK(c.diff.find("-X\n+b\n") != std::string::npos);
  }
  SECTION("mode changed") {
    const auto c = plan_one(r, file_seen("a\nb\n", "0600"));
    CHECK(c.action == Action::update);
    CHECK(c.reasons == std::vector<std::string>{"mode 0600 -> 0644"});
  }
  SECTION("a directory in the way") {
    Observed o;
    o.exists = true;
    o.type = "directory";
    CHECK(plan_one(r, o).reasons.at(0) == "is a directory, should be a file");
  }
  SECTION("sensitive content never shows in a diff") {
    auto secret = make(File{.path = "/etc/app.env", .content = "TOKEN=abc\n",
                            .mode = "0600", .sensitive = Sensitive::yes},
                       "app");
    CHECK(plan_one(secret, Observed{}).diff.empty());
    auto seen = file_seen("TOKEN=old\n", "0600");
    const auto c = plan_one(secret, seen);
    CHECK(c.action == Action::update);
    CHECK(c.diff.empty());
  }
  SECTION("create-only files are never overwritten") {
    auto once = make(File{.path = "/etc/berth/secret", .content = "new", .overwrite = Overwrite::no},
                     "app");
    CHECK(plan_one(once, file_seen("old")).action == Action::none);
    CHECK(plan_one(once, Observed{}).action == Action::create);
  }
}

TEST_CASE("plan: packages, directories, symlinks, accounts") {
  SECTION("package") {
    const auto r = make(Package{"nginx"}, "proxy");
    CHECK(plan_one(r, Observed{}).action == Action::create);
    Observed o;
    o.exists = true;
    CHECK(plan_one(r, o).action == Action::none);
  }
  SECTION("directory owner") {
    const auto r = make(Directory{.path = "/srv/app", .owner = "app", .group = "app"}, "app");
    Observed o{.exists = true, .type = "directory", .owner = "root", .group = "app", .mode = "0755"};
    const auto c = plan_one(r, o);
    CHECK(c.action == Action::update);
    CHECK(c.reasons == std::vector<std::string>{"owner root -> app"});
  }
  SECTION("symlink target") {
    const auto r = make(Symlink{"/srv/app/current", "releases/2"}, "app");
    Observed o{.exists = true, .type = "symlink", .target = "releases/1"};
    CHECK(plan_one(r, o).reasons == std::vector<std::string>{"target releases/1 -> releases/2"});
    o.target = "releases/2";
    CHECK(plan_one(r, o).action == Action::none);
  }
  SECTION("user shell and groups") {
    const auto r = make(User{.name = "app", .groups = {"ssl-cert"}}, "app");
    Observed o{.exists = true, .shell = "/bin/bash", .groups = {"app"}};
    const auto c = plan_one(r, o);
    CHECK(c.reasons == std::vector<std::string>{"shell /bin/bash -> /usr/sbin/nologin",
                                                "not in group ssl-cert"});
    CHECK(plan_one(r, Observed{}).action == Action::create);
  }
  SECTION("group") {
    CHECK(plan_one(make(Group{"app"}, "app"), Observed{}).action == Action::create);
  }
}

TEST_CASE("plan: units and guarded commands") {
  SECTION("unit stopped") {
    const auto r = make(Unit{"app.service"}, "app");
    Observed o{.exists = true, .enabled = true, .active = false, .active_state = "failed"};
    const auto c = plan_one(r, o);
    CHECK(c.action == Action::update);
    CHECK(c.reasons == std::vector<std::string>{"not running (failed)"});
  }
  SECTION("unit fine") {
    Observed o{.exists = true, .enabled = true, .active = true};
    CHECK(plan_one(make(Unit{"app.service"}, "app"), o).action == Action::none);
  }
  SECTION("command runs only while its guard is unmet") {
    const auto r = make(Command{.run = "touch /x", .creates = "/x"}, "app");
    CHECK(plan_one(r, Observed{}).action == Action::create);
    CHECK(plan_one(r, Observed{.guard_satisfied = true}).action == Action::none);
  }
  CHECK_FALSE(has_changes(plan({make(Group{"g"}, "x")}, {Observed{.exists = true}})));
}

TEST_CASE("plan: commands are checked again when packages get installed first") {
  const std::vector<Resource> resources{
      make(Package{"nginx"}, "proxy"),
      make(Command{.run = "rm -f /etc/nginx/sites-enabled/default",
                   .unless = "[ ! -e /etc/nginx/sites-enabled/default ]"},
           "proxy")};
  std::vector<Observed> seen(2);
  seen[1].guard_satisfied = true;  // probed before nginx existed
  auto changes = plan(resources, seen);
  CHECK(changes[1].action == Action::update);
  seen[0].exists = true;           // nothing to install: the guard stands
  changes = plan(resources, seen);
  CHECK(changes[1].action == Action::none);
}
