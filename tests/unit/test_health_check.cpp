#include <core/error.hpp>
#include <core/health/check.hpp>

#include <catch2/catch.hpp>

using namespace berth;
using namespace berth::health;
using namespace std::chrono_literals;

namespace {

std::vector<Condition> conditions(std::initializer_list<const char*> texts) {
  std::vector<Condition> out;
  for (const char* t : texts) out.push_back(parse_condition(t).value());
  return out;
}

manifest::HealthCheck make_check(std::string name, std::string url, std::vector<std::string> conds = {},
                            std::string kind = "http") {
  manifest::HealthCheck h;
  h.name = std::move(name);
  h.url = std::move(url);
  h.kind = std::move(kind);
  int line = 10;
  for (auto& c : conds) h.conditions.push_back({std::move(c), {"berth.toml", line++, 15}});
  h.where = {"berth.toml", 8, 1};
  return h;
}

manifest::Manifest two_servers() {
  manifest::Manifest m;
  m.dir = "/srv/project";
  m.app.run.port = 3000;
  manifest::Server web;
  web.name = "web1";
  web.address = "198.18.0.2";
  manifest::Server db;
  db.name = "db1";
  db.address = "198.18.0.3";
  db.roles = {"db"};
  m.servers = {web, db};
  return m;
}

}  // namespace

TEST_CASE("check: judge passes when every condition passes") {
  Observation o;
  o.status = 200;
  o.response_time = 40ms;
  const auto r = judge("web1", "home", "http", "http://x/", conditions({"[STATUS] == 200", "[RESPONSE_TIME] < 300"}), o);
  CHECK(r.ok);
  REQUIRE(r.conditions.size() == 2);
  CHECK(r.conditions[0].observed == "200");
  CHECK(r.conditions[1].observed == "40ms");

  SECTION("one failing condition fails the check and names the value") {
    o.status = 503;
    const auto f = judge("web1", "home", "http", "", conditions({"[STATUS] == 200", "[RESPONSE_TIME] < 300"}), o);
    CHECK(!f.ok);
    CHECK(!f.conditions[0].ok);
    CHECK(f.conditions[0].observed == "503");
    CHECK(f.conditions[1].ok);
  }
  SECTION("a transport error is shown in place of a missing value") {
    Observation none;
    none.connected = false;
    const auto f = judge("web1", "home", "http", "", conditions({"[STATUS] == 200", "[CONNECTED] == true"}), none,
                         "Failed to connect to 198.18.0.2 port 80: Connection refused");
    CHECK(!f.ok);
    CHECK(f.conditions[0].observed == "Failed to connect to 198.18.0.2 port 80: Connection refused");
    CHECK(f.conditions[1].observed == "false");
  }
  SECTION("without conditions, an error fails the check") {
    CHECK(judge("h", "n", "unit", "", {}, {}).ok);
    CHECK(!judge("h", "n", "unit", "", {}, {}, "no such unit").ok);
  }
}

TEST_CASE("check: plan turns absolute URLs into one probe each") {
  auto m = two_servers();
  auto h = make_check("api", "https://api.example.com:8443/healthz", {"[STATUS] == 200"});
  h.ca_file = "certs/staging-ca.pem";
  h.connect_to = {"api.example.com:8443:198.18.0.2:8443"};
  h.headers = {{"X-Probe", "berth"}};
  h.method = "HEAD";
  h.timeout = "3s";
  h.interval = "1s";
  h.success_threshold = 3;
  m.health = {h, make_check("pg", "198.18.0.3:5432", {}, "tcp")};
  const auto checks = plan_local_checks(m, {});
  REQUIRE(checks.size() == 2);
  const auto& api = checks[0];
  CHECK(api.host == "api.example.com");
  CHECK(api.probe.kind == ProbeKind::http);
  CHECK(api.probe.target == "https://api.example.com:8443/healthz");
  CHECK(api.probe.ca_file == "/srv/project/certs/staging-ca.pem");
  CHECK(api.probe.connect_to == h.connect_to);
  CHECK(api.probe.headers == std::vector<std::string>{"X-Probe: berth"});
  CHECK(api.probe.method == "HEAD");
  CHECK(api.probe.tls_verify == TlsVerify::verify);
  CHECK(api.probe.timeout == 3s);
  CHECK(api.probe.connect_timeout == 3s);
  CHECK(api.interval == 1s);
  CHECK(api.success_threshold == 3);
  const auto& pg = checks[1];
  CHECK(pg.host == "198.18.0.3");
  CHECK(pg.probe.kind == ProbeKind::tcp);
  CHECK(pg.probe.connect_timeout == 5s);
  REQUIRE(pg.conditions.size() == 1);
  CHECK(pg.conditions[0].text == "[CONNECTED] == true");
}

TEST_CASE("check: plan runs a relative URL on each app server") {
  auto m = two_servers();
  m.health = {make_check("home", "/healthz")};
  SECTION("without a proxy: the app's port") {
    const auto checks = plan_local_checks(m, {});
    REQUIRE(checks.size() == 1);
    CHECK(checks[0].host == "web1");
    CHECK(checks[0].probe.target == "http://198.18.0.2:3000/healthz");
    CHECK(checks[0].conditions[0].text == "[STATUS] < 400");
  }
  SECTION("through the proxy, by its domain, connecting to each server") {
    m.proxy = manifest::Proxy{};
    m.proxy->domains = {"example.com", "www.example.com"};
    m.proxy->tls = manifest::Tls::letsencrypt;
    m.servers[1].roles = {};  // now db1 is a proxy too
    const auto checks = plan_local_checks(m, {});
    REQUIRE(checks.size() == 2);
    CHECK(checks[1].host == "db1");
    CHECK(checks[1].probe.target == "https://example.com/healthz");
    CHECK(checks[1].probe.connect_to == std::vector<std::string>{"example.com:443:198.18.0.3:443"});
    CHECK(checks[1].probe.tls_verify == TlsVerify::verify);
  }
  SECTION("a self-signed proxy is not verified") {
    m.proxy = manifest::Proxy{};
    m.proxy->tls = manifest::Tls::self_signed;
    const auto checks = plan_local_checks(m, {});
    REQUIRE(checks.size() == 1);
    CHECK(checks[0].probe.target == "https://198.18.0.2/healthz");
    CHECK(checks[0].probe.tls_verify == TlsVerify::skip);
  }
  SECTION("--hosts picks the servers") {
    CHECK_THROWS_AS(plan_local_checks(m, {{"nope"}, {}, {}}), Error);
  }
}

TEST_CASE("check: plan reports every malformed condition at file:line:col") {
  auto m = two_servers();
  m.health = {make_check("a", "http://x/", {"[STATUS] == 200", "[STAUS] == 200"}),
              make_check("b", "http://y/", {"[BODY].db = ok"})};
  m.health[1].timeout = "10";
  try {
    plan_local_checks(m, {});
    FAIL("no error");
  } catch (const Error& e) {
    const std::string text = e.what();
    CHECK_THAT(text, Catch::Contains("berth.toml:11:16: error: condition '[STAUS] == 200': unknown placeholder"));
    CHECK_THAT(text, Catch::Contains("berth.toml:10:26: error: condition '[BODY].db = ok': expected an operator"));
    CHECK_THAT(text, Catch::Contains("berth.toml:8:1: error: health check 'b': timeout '10': missing unit"));
    CHECK(e.code() == ExitCode::failure);
  }
}

TEST_CASE("check: --only keeps the named checks and rejects unknown names") {
  auto m = two_servers();
  m.health = {make_check("a", "http://x/"), make_check("b", "http://y/"), make_check("c", "http://z/")};
  const auto checks = plan_local_checks(m, {{}, {}, {"c", "a"}});
  REQUIRE(checks.size() == 2);
  CHECK(checks[0].name == "a");
  CHECK(checks[1].name == "c");
  try {
    plan_local_checks(m, {{}, {}, {"d"}});
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    CHECK_THAT(std::string(e.what()), Catch::Contains("no health check named 'd' (checks: a, b, c)"));
  }

  SECTION("server-side names, their kinds and certificates are known; they select no local check") {
    const std::vector<std::string> builtin{"app:1", "memory", "unit:nginx"};
    CHECK(plan_local_checks(m, {{}, {}, {"unit:nginx", "memory"}, builtin}).empty());
    CHECK(plan_local_checks(m, {{}, {}, {"unit", "cert", "cert:site.crt"}, builtin}).empty());
    CHECK(plan_local_checks(m, {{}, {}, {"app", "b"}, builtin}).size() == 1);
    CHECK_THROWS_AS(plan_local_checks(m, {{}, {}, {"disk"}, builtin}), Error);
    CHECK_THROWS_AS(plan_local_checks(m, {{}, {}, {"mem"}, builtin}), Error);
  }
}

TEST_CASE("check: a round adds the server-side checks and orders by host") {
  const auto server = [] {
    Observation o;
    o.values["ACTIVE_STATE"] = std::string("failed");
    const std::vector<std::string> extra{"ACTIVE_STATE"};
    const std::vector<Condition> c{parse_condition("[ACTIVE_STATE] == active", extra).value()};
    return std::vector<CheckResult>{
        judge("web2", "unit demo", "unit", "demo.service", c, o, {}, 0ms, {"demo[12]: listen EADDRINUSE"}),
        judge("web1", "unit demo", "unit", "demo.service", c, o)};
  };
  const auto results = run_round({}, server);
  REQUIRE(results.size() == 2);
  CHECK(results[0].host == "web1");
  CHECK(results[1].host == "web2");
  CHECK(!results[1].ok);
  CHECK(results[1].conditions[0].observed == "failed");
  CHECK(results[1].details == std::vector<std::string>{"demo[12]: listen EADDRINUSE"});
}
