#include <core/health/report.hpp>

#include <catch2/catch.hpp>

using namespace berth;
using namespace berth::health;
using namespace std::chrono_literals;

namespace {

CheckResult make(std::string host, std::string name, bool ok, std::string observed, std::string error = {}) {
  CheckResult r;
  r.host = std::move(host);
  r.name = std::move(name);
  r.kind = "http";
  r.target = "http://x/";
  r.ok = ok;
  r.error = std::move(error);
  r.duration = 12ms;
  r.conditions.push_back({"[STATUS] == 200", ok, std::move(observed)});
  return r;
}

}  // namespace

TEST_CASE("report: a table per host and check") {
  const Ui ui(false, Verbosity::normal, Color::off);
  auto second = make("web1", "api", true, "200");
  second.conditions.push_back({"[RESPONSE_TIME] < 300", true, "12ms"});
  auto failing = make("web2", "home", false, "Connection refused", "Connection refused");
  failing.details = {"demo[1]: crashed"};
  const std::vector<CheckResult> results{make("web1", "home", true, "200"), second, failing};
  const auto lines = render_table(results, ui);
  const std::vector<std::string> expected{
      "HOST  CHECK  STATUS  OBSERVED            CONDITION              DURATION",
      "web1  home   pass    200                 [STATUS] == 200        12ms",
      "      api    pass    200                 [STATUS] == 200        12ms",
      "             pass    12ms                [RESPONSE_TIME] < 300",
      "web2  home   FAIL    Connection refused  [STATUS] == 200        12ms",
      "             error: Connection refused",
      "             | demo[1]: crashed",
      "3 checks: 2 passed, 1 failed",
  };
  CHECK(lines == expected);
}

TEST_CASE("report: JSON document") {
  const std::vector<CheckResult> results{make("web1", "home", true, "200"),
                                         make("web2", "home", false, "503")};
  const auto at = std::chrono::system_clock::from_time_t(1764083045);  // 2025-11-25T15:04:05Z
  const auto j = report_json(results, at);
  CHECK(j["version"] == 1);
  CHECK(j["checked_at"] == "2025-11-25T15:04:05Z");
  CHECK(j["ok"] == false);
  CHECK(j["summary"]["total"] == 2);
  CHECK(j["summary"]["passed"] == 1);
  CHECK(j["summary"]["failed"] == 1);
  REQUIRE(j["checks"].size() == 2);
  const auto& c = j["checks"][1];
  CHECK(c["host"] == "web2");
  CHECK(c["name"] == "home");
  CHECK(c["kind"] == "http");
  CHECK(c["target"] == "http://x/");
  CHECK(c["ok"] == false);
  CHECK(c["error"].is_null());
  CHECK(c["duration_ms"] == 12);
  CHECK(c["conditions"][0]["condition"] == "[STATUS] == 200");
  CHECK(c["conditions"][0]["observed"] == "503");
  CHECK(c["conditions"][0]["ok"] == false);
  CHECK(c["details"].is_array());
  CHECK(report_json({}, at)["ok"] == true);
}

TEST_CASE("report: transitions between rounds") {
  const std::vector<CheckResult> first{make("web1", "home", true, "200"), make("web1", "api", true, "200")};
  SECTION("the first round reports every check as new") {
    const auto t = transitions({}, first);
    REQUIRE(t.size() == 2);
    CHECK(!t[0].before.has_value());
  }
  SECTION("only changes are reported") {
    const std::vector<CheckResult> second{make("web1", "home", true, "200"), make("web1", "api", false, "503")};
    CHECK(transitions(first, first).empty());
    const auto t = transitions(first, second);
    REQUIRE(t.size() == 1);
    CHECK(t[0].now.name == "api");
    CHECK(t[0].before == true);
    const Ui ui(false, Verbosity::normal, Color::off);
    const auto at = std::chrono::system_clock::from_time_t(1764083045);
    CHECK_THAT(render_transition(t[0], at, ui),
               Catch::EndsWith(" web1 api: pass -> FAIL [STATUS] == 200 (observed 503)"));
    const auto j = transition_json(t[0], at);
    CHECK(j["event"] == "transition");
    CHECK(j["from"] == "pass");
    CHECK(j["to"] == "fail");
    CHECK(j["check"]["name"] == "api");
    const auto back = transitions(second, first);
    REQUIRE(back.size() == 1);
    CHECK(render_transition(back[0], at, ui).ends_with("web1 api: FAIL -> pass"));
  }
}
