#include <core/error.hpp>
#include <core/playbook/playbook.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <string>

using namespace berth::playbook;

namespace {

// The error message of parsing `text`, or "" when it parses.
std::string problems(const std::string& text) {
  try {
    parse_playbook(text, "test", "test.toml");
  } catch (const berth::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("playbook: the built-in playbooks parse, and only deploy, rollback and restart are release playbooks") {
  const auto setup = load_playbook("/nonexistent", "setup");
  CHECK_FALSE(setup.is_release());
  REQUIRE(setup.steps.size() == 1);
  CHECK(setup.steps[0].kind == StepKind::converge);

  const auto deploy = load_playbook("/nonexistent", "deploy");
  CHECK(deploy.is_release());
  std::string order;
  for (const auto& s : deploy.steps) order += s.name + " ";
  CHECK(order == "pre_build build pre_deploy ship migrate start switch gate finalize post_deploy ");
  CHECK(deploy.steps[7].kind == StepKind::health);

  const auto rollback = load_playbook("/nonexistent", "rollback");
  CHECK(rollback.is_release());
  CHECK(rollback.steps[0].action == "choose");
  const auto restart = load_playbook("/nonexistent", "restart");
  CHECK(restart.is_release());
  CHECK(restart.steps[0].release == ReleaseAction::current);
  CHECK(available_playbooks("/nonexistent") == std::vector<std::string>{"app", "deploy", "restart", "rollback", "setup"});
}

TEST_CASE("playbook: step kinds and their keys") {
  const auto book = parse_playbook(R"(
description = "mine"
[[steps]]
name = "warm"
remote = "curl -s localhost:3000/warm"
role = "app"
[[steps]]
local = "echo done"
[[steps]]
health = true
deadline = "2m"
)",
                                   "mine", "mine.toml");
  REQUIRE(book.steps.size() == 3);
  CHECK(book.steps[0].kind == StepKind::remote);
  CHECK(book.steps[1].name == "step 2");
  CHECK(book.steps[2].deadline == "2m");
  CHECK_FALSE(book.is_release());

  SECTION("unknown keys, kinds and actions are named with file:line:col") {
    const auto text = problems("[[steps]]\nrelease = \"deploy\"\n[[steps]]\nhooks = \"after\"\n[[steps]]\nfoo = 1\n");
    CHECK_THAT(text, Catch::Contains("test.toml:2:11: error: unknown release step 'deploy' (build, ship"));
    CHECK_THAT(text, Catch::Contains("test.toml:4:9: error: unknown hook kind 'after' (pre_build"));
    CHECK_THAT(text, Catch::Contains("unknown key 'foo'"));
  }
  SECTION("a step has exactly one kind") {
    CHECK_THAT(problems("[[steps]]\nlocal = \"a\"\nrelease = \"build\"\n"),
               Catch::Contains("exactly one of converge, remote, local, health, release, hooks"));
  }
}

TEST_CASE("playbook: release steps keep an order that never switches to what was not started") {
  const auto step = [](const char* action) { return fmt::format("[[steps]]\nrelease = \"{}\"\n", action); };
  SECTION("a custom deploy that warms a cache between switch and gate is fine") {
    const auto text = step("build") + step("ship") + step("start") + step("switch") +
                      "[[steps]]\nremote = \"warm\"\n[[steps]]\nhealth = true\n" + step("finalize");
    CHECK(problems(text).empty());
    CHECK(parse_playbook(text, "d", "d.toml").steps[0].name == "build");
  }
  SECTION("ship needs build") {
    CHECK_THAT(problems(step("ship")), Catch::Contains("test.toml:1: error: release step 'ship' needs 'build' before it"));
  }
  SECTION("start needs ship or choose, and a finalize after it") {
    CHECK_THAT(problems(step("start") + step("finalize")), Catch::Contains("'start' needs 'ship', 'choose' or 'current'"));
    CHECK_THAT(problems(step("choose") + step("start")), Catch::Contains("needs a 'finalize' after it"));
  }
  SECTION("switch needs start and comes before finalize") {
    CHECK_THAT(problems(step("choose") + step("switch")), Catch::Contains("'switch' needs 'start'"));
    CHECK_THAT(problems(step("choose") + step("start") + step("finalize") + step("switch")),
               Catch::Contains("'switch' must come before 'finalize'"));
  }
  SECTION("build or choose, once each") {
    CHECK_THAT(problems(step("build") + step("choose")), Catch::Contains("built ('build'), chosen ('choose') or the live one ('current'): one of them"));
    CHECK_THAT(problems(step("build") + step("build")), Catch::Contains("'build' appears twice"));
  }
  SECTION("no converge among release steps") {
    CHECK_THAT(problems("[[steps]]\nconverge = [\"app\"]\n" + step("build")),
               Catch::Contains("a converge step cannot run among release steps"));
  }
  SECTION("hooks alone make a release playbook") {
    CHECK(parse_playbook("[[steps]]\nhooks = \"post_deploy\"\n", "h", "h.toml").is_release());
  }
}
