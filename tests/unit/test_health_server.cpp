#include <core/health/server.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>

using namespace berth;
using namespace berth::health;
using namespace std::chrono_literals;

namespace {

// The script's output read as run_script reads it (framing errors included), then parsed.
std::expected<ServerFacts, std::string> parse_output(const std::string& out) {
  const auto read = util::read_framed(out, util::Frame("berth"));
  if (!read) return std::unexpected(read.error());
  return parse_server_output(read->records, read->ended);
}

// The subscription-tracker's shape: one server with every role, PostgreSQL, nginx with
// TLS, two instances, a run_on = "one" job.
manifest::Manifest tracker() {
  manifest::Manifest m;
  m.app.name = "tracker";
  m.app.run.port = 3000;
  m.app.run.instances = 2;
  manifest::Server web;
  web.name = "web";
  web.address = "198.18.0.2";
  m.servers = {web};
  manifest::Database db;
  db.key = "main";
  db.engine = manifest::Engine::postgresql;
  db.name = "tracker";
  db.user = "tracker";
  m.databases = {db};
  m.proxy = manifest::Proxy{};
  manifest::Job job;
  job.name = "reminders";
  job.role = "app";
  job.run_on = manifest::RunOn::one;
  m.jobs = {job};
  return m;
}

std::vector<std::string> names_of(const ServerPlan& plan) {
  std::vector<std::string> out;
  for (const auto& c : plan.checks)
    out.push_back(c.name);
  return out;
}

// One framed record, as the script's `v` prints it.
std::string rec(std::string_view subject, std::string_view field, std::string_view value) {
  return fmt::format("@@berth {} {} {}\n{}\n", subject, field, value.size(), value);
}

const CheckResult& find(const std::vector<CheckResult>& results, std::string_view name) {
  const auto it =
      std::find_if(results.begin(), results.end(), [&](const auto& r) { return r.name == name; });
  REQUIRE(it != results.end());
  return *it;
}

constexpr std::string_view healthy_unit = "LoadState=loaded\nActiveState=active\nSubState="
                                          "running\nNRestarts=0\nResult=success\nExecMainStatus=0";

// Output of a healthy tracker host, green live.
std::string healthy_output() {
  std::string out;
  out += rec("app", "live", "green");
  out += rec("unit:postgresql", "unit", "postgresql.service");
  out += rec("unit:postgresql", "show", healthy_unit);
  out += rec("db:main", "client", "psql as tracker");
  out += rec("db:main", "exit", "0");
  out += rec("db:main", "output", "1");
  out += rec("app:1", "unit", "tracker@3002.service");
  out += rec("app:1", "show", healthy_unit);
  out += rec("app:2", "unit", "tracker@3003.service");
  out += rec("app:2", "show", healthy_unit);
  out += rec("unit:nginx", "unit", "nginx.service");
  out += rec("unit:nginx", "show", healthy_unit);
  out += rec("backup:main", "unit", "tracker-db-main-backup.timer");
  out += rec("backup:main", "timer",
             "LoadState=loaded\nActiveState=active\nSubState=waiting\nUnitFileState=enabled\n"
             "LastTriggerUSec=n/a");
  out += rec("backup:main", "show",
             "LoadState=loaded\nActiveState=inactive\nResult=success\nExecMainStatus=0");
  out += rec("timer:reminders", "unit", "tracker-job-reminders.timer");
  out += rec("timer:reminders", "timer",
             "LoadState=loaded\nActiveState=active\nSubState=waiting\nUnitFileState=enabled\n"
             "LastTriggerUSec=Wed 2026-11-25 08:00:04 UTC");
  out += rec("timer:reminders", "show",
             "LoadState=loaded\nActiveState=inactive\nResult=success\nExecMainStatus=0");
  out += rec("ports", "ss",
             "LISTEN 0      244        127.0.0.1:5432      0.0.0.0:*\n"
             "LISTEN 0      511          0.0.0.0:80        0.0.0.0:*\n"
             "LISTEN 0      511          0.0.0.0:443       0.0.0.0:*\n"
             "LISTEN 0      511        127.0.0.1:3002      0.0.0.0:*\n"
             "LISTEN 0      511            [::1]:3003         [::]:*\n"
             "LISTEN 0      128                *:22              *:*");
  out += rec("disk:/", "df", "/dev/sda1 41152736 12345678 26700000 32% /");
  out += rec("disk:/srv", "df", "/dev/sda1 41152736 12345678 26700000 32% /");
  out += rec("memory", "meminfo", "MemTotal:        2000000 kB\nMemAvailable:    1000000 kB");
  out += rec("load", "loadavg", "0.50 1.00 0.75 2/345 6789");
  out += rec("load", "cores", "2");
  out += rec("cert:1", "path", "/etc/berth/tls/tracker.crt");
  out += rec("cert:1", "end", "1800000000");
  out += rec("clock", "now", "1790000000");
  out += "@@berth end\n";
  return out;
}

}  // namespace

TEST_CASE("server: built-in checks come from the manifest and the server's roles") {
  auto m = tracker();

  SECTION("one server with every role has every component's checks") {
    const auto plan = plan_server_checks(m, m.servers[0]);
    CHECK(names_of(plan) == std::vector<std::string>{"unit:postgresql", "db:main", "backup:main",
                                                     "app:1", "app:2", "unit:nginx",
                                                     "timer:reminders", "ports", "disk:/",
                                                     "disk:/srv", "memory", "load"});
    CHECK(plan.ports == std::vector<int>{80, 443, 5432});
    CHECK(plan.blue_ports == std::vector<int>{3000, 3001});
    CHECK(plan.green_ports == std::vector<int>{3002, 3003});
    CHECK(plan.read_live_color.find("/etc/berth/tracker/upstream.conf") != std::string::npos);
    CHECK(plan.certificates);
    const auto& db = plan.checks[1];
    CHECK(db.kind == ServerCheckKind::database);
    CHECK(db.secret_file == "/etc/berth/tracker/secrets/db_main_password");
    REQUIRE(db.conditions.size() == 1);
    CHECK(db.conditions[0].text == "[CONNECTED] == true");
    CHECK(plan.checks[0].journal == "postgresql*");
  }

  SECTION("roles decide: a db server has no app, nginx or timer; an app server no database") {
    auto db = m.servers[0];
    db.name = "db1";
    db.roles = {"db"};
    auto app = m.servers[0];
    app.name = "app1";
    app.roles = {"app", "proxy"};
    m.servers = {app, db};
    CHECK(names_of(plan_server_checks(m, db)) ==
          std::vector<std::string>{"unit:postgresql", "db:main", "backup:main", "ports", "disk:/",
                                   "memory", "load"});
    CHECK(plan_server_checks(m, db).ports == std::vector<int>{5432});
    CHECK(names_of(plan_server_checks(m, app)) ==
          std::vector<std::string>{"app:1", "app:2", "unit:nginx", "timer:reminders", "ports",
                                   "disk:/", "disk:/srv", "memory", "load"});
  }

  SECTION("a database without backups has no backup timer check") {
    m.databases[0].backups.enabled = false;
    const auto names = names_of(plan_server_checks(m, m.servers[0]));
    CHECK(std::find(names.begin(), names.end(), "backup:main") == names.end());
  }

  SECTION("a run_on = one job's timer is checked on the primary app server only; run_on = all on "
          "each") {
    auto second = m.servers[0];
    second.name = "web2";
    m.servers.push_back(second);
    const auto names = names_of(plan_server_checks(m, m.servers[1]));
    CHECK(std::find(names.begin(), names.end(), "timer:reminders") == names.end());
    m.jobs[0].run_on = manifest::RunOn::all;
    const auto all = names_of(plan_server_checks(m, m.servers[1]));
    CHECK(std::find(all.begin(), all.end(), "timer:reminders") != all.end());
  }

  SECTION("redis and tls = off: redis-server's unit and port, no 443 and no certificates") {
    m.databases[0].engine = manifest::Engine::redis;
    m.proxy->tls = manifest::Tls::off;
    const auto plan = plan_server_checks(m, m.servers[0]);
    CHECK(plan.checks[0].name == "unit:redis-server");
    CHECK(plan.ports == std::vector<int>{80, 6379});
    CHECK(!plan.certificates);
  }

  SECTION("--only keeps a name or a kind") {
    CHECK(names_of(plan_server_checks(m, m.servers[0], {"db:main"})) ==
          std::vector<std::string>{"db:main"});
    CHECK(names_of(plan_server_checks(m, m.servers[0], {"app", "memory"})) ==
          std::vector<std::string>{"app:1", "app:2", "memory"});
    CHECK(!plan_server_checks(m, m.servers[0], {"api"}).certificates);
    CHECK(plan_server_checks(m, m.servers[0], {"cert"}).certificates);
    CHECK(!matches_only({"app"}, "apps"));
    CHECK(matches_only({}, "anything"));
  }
}

TEST_CASE("server: [server_checks] replaces the built-in thresholds") {
  auto m = tracker();
  m.server_checks.disk = {{"[DISK_USED] < 30", {}}};
  m.server_checks.certificate = {{"[CERTIFICATE_EXPIRATION] > 720h", {}}};
  const auto plan = plan_server_checks(m, m.servers[0]);
  const auto facts = parse_output(healthy_output());
  REQUIRE(facts);
  const auto results = judge_server(plan, *facts, 120ms);
  // The healthy host's / is 36% used, its certificate has 115 days left.
  CHECK_FALSE(find(results, "disk:/").ok);
  CHECK(find(results, "disk:/").conditions[0].condition == "[DISK_USED] < 30");
  CHECK(find(results, "memory").conditions[0].condition == "[MEMORY_AVAILABLE] > 10");
  CHECK(find(results, "cert:tracker.crt").conditions[0].condition == "[CERTIFICATE_EXPIRATION] > 720h");
  CHECK(find(results, "cert:tracker.crt").ok);
}

TEST_CASE("server: the script observes what the plan needs, secrets stay on the server") {
  auto m = tracker();
  const auto plan = plan_server_checks(m, m.servers[0]);
  const auto script = render_server_script(plan);
  CHECK(script.find("grep -q '127.0.0.1:3000 ' '/etc/berth/tracker/upstream.conf'") !=
        std::string::npos);
  CHECK(script.find("unit 'app:1' 'tracker@3000.service'") != std::string::npos);
  CHECK(script.find("unit 'app:1' 'tracker@3002.service'") != std::string::npos);
  CHECK(script.find("psql -h 127.0.0.1 -U 'tracker' -d 'tracker'") != std::string::npos);
  CHECK(script.find("PGPASSWORD=\"$(cat '/etc/berth/tracker/secrets/db_main_password')\"") !=
        std::string::npos);
  CHECK(script.find("timer 'timer:reminders' 'tracker-job-reminders'") != std::string::npos);
  CHECK(script.find("timer 'backup:main' 'tracker-db-main-backup'") != std::string::npos);
  CHECK(script.find("ss -ltnH") != std::string::npos);
  CHECK(script.find("openssl x509 -enddate") != std::string::npos);
  CHECK(script.find("JOURNAL_LINES") == std::string::npos);
  CHECK(script.ends_with("rec_end\n"));

  SECTION("--only narrows the script too") {
    const auto only = render_server_script(plan_server_checks(m, m.servers[0], {"memory"}));
    CHECK(only.find("/proc/meminfo") != std::string::npos);
    CHECK(only.find("psql") == std::string::npos);
    CHECK(only.find("ss -ltnH") == std::string::npos);
  }
}

TEST_CASE("server: the parser reads framed records and refuses broken output") {
  SECTION("values may hold newlines and anything that looks like a record") {
    const auto out =
        rec("a", "x", "line 1\n@@berth end\nline 3") + rec("a", "y", "") + "@@berth end\n";
    const auto facts = parse_output(out);
    REQUIRE(facts);
    CHECK(facts->get("a", "x") == "line 1\n@@berth end\nline 3");
    CHECK(facts->has("a", "y"));
    CHECK(facts->get("a", "y").empty());
    CHECK(!facts->has("a", "z"));
    CHECK(facts->get("b", "x").empty());
  }
  SECTION("no end marker: the script did not finish") {
    const auto facts = parse_output(rec("a", "x", "1"));
    REQUIRE(!facts);
    CHECK(facts.error().find("did not get to its end") != std::string::npos);
  }
  SECTION("text outside the frames is no record, whatever it says") {
    const auto facts = parse_output("sh: 1: oops\n@@berth0 b y 1\n2\n" + rec("a", "x", "1") +
                                    "@@berthX end\n@@berth end\n");
    REQUIRE(facts);
    CHECK(facts->get("a", "x") == "1");
    CHECK(!facts->has("b", "y"));
  }
  SECTION("a length longer than the output, or a missing newline after the value") {
    CHECK(!parse_output("@@berth a x 50\nshort\n@@berth end\n"));
    CHECK(!parse_output("@@berth a x 2\nabc\n@@berth end\n"));
    CHECK(!parse_output("@@berth a x\n\n@@berth end\n"));
    CHECK(!parse_output("@@berth a x -1\n\n@@berth end\n"));
  }
  SECTION("empty output") {
    CHECK(!parse_output(""));
  }
}

TEST_CASE("server: judging a healthy host passes every check with observed values") {
  auto m = tracker();
  const auto plan = plan_server_checks(m, m.servers[0]);
  const auto facts = parse_output(healthy_output());
  REQUIRE(facts);
  const auto results = judge_server(plan, *facts, 120ms);
  REQUIRE(results.size() == plan.checks.size() + 1);
  for (const auto& r : results) {
    INFO(r.name << " " << (r.conditions.empty() ? r.error : r.conditions[0].observed));
    CHECK(r.ok);
    CHECK(r.host == "web");
    CHECK(r.duration == 120ms);
  }
  CHECK(find(results, "app:1").target == "tracker@3002.service (green)");
  CHECK(find(results, "app:1").conditions[0].observed == "active");
  CHECK(find(results, "app:1").conditions[1].observed == "0");
  CHECK(find(results, "ports").target == "80 443 3002 3003 5432");
  CHECK(find(results, "ports").conditions[0].observed == "\"\"");
  CHECK(find(results, "disk:/").conditions[0].observed == "32");
  CHECK(find(results, "memory").conditions[0].observed == "50");
  CHECK(find(results, "load").conditions[0].observed == "0.38");
  CHECK(find(results, "db:main").target == "main (psql as tracker)");
  CHECK(find(results, "backup:main").target == "tracker-db-main-backup.timer (never triggered)");
  CHECK(find(results, "timer:reminders").target ==
        "tracker-job-reminders.timer (last triggered 2026-11-25T08:00:04Z)");
  const auto& cert = find(results, "cert:tracker.crt");
  CHECK(cert.kind == "certificate");
  CHECK(cert.target == "/etc/berth/tls/tracker.crt");
  CHECK(cert.conditions[0].observed == "115d17h46m40s");
}

TEST_CASE("server: failures name the value, the error and the journal") {
  auto m = tracker();
  const auto plan = plan_server_checks(m, m.servers[0]);
  auto out = healthy_output();
  out.resize(out.size() - std::string("@@berth end\n").size());

  SECTION("a stopped database: unit inactive, psql refused, port missing, journal shown") {
    std::string broken;
    broken += rec("unit:postgresql", "unit", "postgresql.service");
    broken +=
        rec("unit:postgresql", "show",
            "LoadState=loaded\nActiveState=inactive\nSubState=dead\nNRestarts=0\nResult=success");
    broken += rec("unit:postgresql", "journal",
                  "2026-11-25T18:00:00+0000 web systemd[1]: Stopped PostgreSQL RDBMS.");
    broken += rec("db:main", "client", "psql as tracker");
    broken += rec("db:main", "exit", "2");
    broken += rec(
        "db:main", "output",
        "psql: error: connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n"
        "\tIs the server running on that host and accepting TCP/IP connections?");
    broken += rec("ports", "ss",
                  "LISTEN 0 511 0.0.0.0:80 0.0.0.0:*\nLISTEN 0 511 0.0.0.0:443 0.0.0.0:*\n"
                  "LISTEN 0 511 127.0.0.1:3002 0.0.0.0:*\nLISTEN 0 511 127.0.0.1:3003 0.0.0.0:*");
    // Later records of the same subject and field win.
    const auto facts = parse_output(out + broken + "@@berth end\n");
    REQUIRE(facts);
    const auto results = judge_server(plan, *facts);
    const auto& unit = find(results, "unit:postgresql");
    CHECK(!unit.ok);
    CHECK(unit.conditions[0].observed == "inactive");
    REQUIRE(unit.details.size() == 1);
    CHECK(unit.details[0].find("Stopped PostgreSQL") != std::string::npos);
    const auto& db = find(results, "db:main");
    CHECK(!db.ok);
    CHECK(db.conditions[0].observed == "false");
    CHECK(db.error.find("Connection refused") != std::string::npos);
    CHECK(find(results, "ports").conditions[0].observed == "5432");
    CHECK(find(results, "app:1").ok);
  }

  SECTION("thresholds: disk at 90% fails, 89% passes; memory at 10% fails; load 8 per core fails") {
    auto judged = [&](std::string extra) {
      auto facts = parse_output(out + extra + "@@berth end\n");
      REQUIRE(facts);
      return judge_server(plan, *facts);
    };
    CHECK(!find(judged(rec("disk:/", "df", "/dev/sda1 100 90 10 90% /")), "disk:/").ok);
    CHECK(find(judged(rec("disk:/", "df", "/dev/sda1 100 89 11 89% /")), "disk:/").ok);
    CHECK(
        !find(judged(rec("memory", "meminfo", "MemTotal: 1000 kB\nMemAvailable: 100 kB")), "memory")
             .ok);
    CHECK(
        find(judged(rec("memory", "meminfo", "MemTotal: 1000 kB\nMemAvailable: 101 kB")), "memory")
            .ok);
    CHECK(!find(judged(rec("load", "loadavg", "1.00 2.00 16.00 1/2 3")), "load").ok);
    CHECK(find(judged(rec("load", "loadavg", "1.00 2.00 15.98 1/2 3")), "load").ok);
    const auto expiring =
        judged(rec("cert:1", "end", "1790000000") + rec("clock", "now", "1789200000"));
    CHECK(!find(expiring, "cert:tracker.crt").ok);
  }

  SECTION("a restart-looping app, a failed job, a missing unit") {
    const auto results = [&] {
      auto facts = parse_output(
          out +
          rec("app:2", "show",
              "LoadState=loaded\nActiveState=active\nSubState=running\nNRestarts=7") +
          rec("app:2", "journal", "a\nb") +
          rec("timer:reminders", "show",
              "LoadState=loaded\nActiveState=inactive\nResult=exit-code\nExecMainStatus=1") +
          rec("unit:nginx", "show", "LoadState=not-found\nActiveState=inactive\nSubState=dead") +
          "@@berth end\n");
      REQUIRE(facts);
      return judge_server(plan, *facts);
    }();
    const auto& app = find(results, "app:2");
    CHECK(!app.ok);
    CHECK(app.conditions[0].ok);
    CHECK(!app.conditions[1].ok);
    CHECK(app.conditions[1].observed == "7");
    CHECK(app.details == std::vector<std::string>{"a", "b"});
    const auto& timer = find(results, "timer:reminders");
    CHECK(!timer.ok);
    CHECK(timer.conditions[1].observed == "exit-code");
    const auto& nginx = find(results, "unit:nginx");
    CHECK(!nginx.ok);
    CHECK(nginx.error == "nginx.service is not installed on the server (LoadState=not-found)");
  }

  SECTION("a value that was not reported fails as missing") {
    const auto facts = parse_output("@@berth end\n");
    REQUIRE(facts);
    const auto results = judge_server(plan, *facts);
    for (const auto& r : results)
      CHECK(!r.ok);
    CHECK(find(results, "memory").conditions[0].observed ==
          "(missing: [MEMORY_AVAILABLE] was not observed)");
    CHECK(find(results, "disk:/").error == "/ does not exist on the server");
  }
}

TEST_CASE("server: every built-in condition parses with the server placeholders") {
  auto m = tracker();
  m.databases.push_back(m.databases[0]);
  m.databases[1].key = "cache";
  m.databases[1].engine = manifest::Engine::redis;
  const auto plan = plan_server_checks(m, m.servers[0]);
  for (const auto& c : plan.checks)
    CHECK(!c.conditions.empty());
  CHECK(parse_condition("[DISK_USED] < 90", server_placeholders()));
  CHECK(!parse_condition("[DISK_USED] < 90"));
}

TEST_CASE("server: an app server behind proxies of other hosts asks each live instance the manifest's checks") {
  auto m = tracker();
  m.servers = {{.name = "app1", .address = "198.18.0.11", .roles = {"app"}},
               {.name = "lb", .address = "198.18.0.10", .roles = {"proxy"}}};
  m.health.push_back({.name = "home", .kind = "http", .url = "/healthz"});
  m.health.back().conditions = {{.text = "[STATUS] == 200"}, {.text = "[BODY].status == ok"},
                                {.text = "[CERTIFICATE_EXPIRATION] > 48h"}};
  m.health.push_back({.name = "site", .kind = "http", .url = "https://shop.test/"});
  const auto plan = plan_server_checks(m, m.servers[0]);
  std::vector<std::string> names;
  for (const auto& c : plan.checks) names.push_back(c.name);
  CHECK(std::count(names.begin(), names.end(), "direct:home:1") == 1);
  CHECK(std::count(names.begin(), names.end(), "direct:home:2") == 1);
  CHECK(std::none_of(names.begin(), names.end(), [](const std::string& n) { return n.starts_with("direct:site"); }));
  const auto script = render_server_script(plan);
  CHECK(script.find("\"http://127.0.0.1:$p\"'/healthz'") != std::string::npos);
  // The proxy server itself has none: it asks through its own nginx.
  for (const auto& c : plan_server_checks(m, m.servers[1]).checks) CHECK(c.kind != ServerCheckKind::direct);

  const auto out = rec("app", "live", "blue") + rec("direct:home:1", "port", "3000") +
                   rec("direct:home:1", "answer", "{\"status\":\"ok\"}\n@@200 0.004") +
                   rec("direct:home:2", "port", "3001") + rec("direct:home:2", "answer", "@@000 0.000");
  const auto facts = parse_output(out + "@@berth end\n");
  REQUIRE(facts);
  const auto results = judge_server(plan, *facts);
  const auto& one = find(results, "direct:home:1");
  CHECK(one.ok);
  CHECK(one.target == "http://127.0.0.1:3000/healthz (blue)");
  REQUIRE(one.conditions.size() == 2);  // the certificate is the proxies'
  CHECK(one.conditions[1].observed == "ok");
  const auto& two = find(results, "direct:home:2");
  CHECK_FALSE(two.ok);
}

namespace {

// tracker's database on db1, streamed to its replica db2; the app and nginx on web.
manifest::Manifest replicated_fleet() {
  auto m = tracker();
  m.servers = {{.name = "db1", .address = "198.18.0.3", .roles = {"db"}},
               {.name = "db2", .address = "198.18.0.4", .roles = {"db"}},
               {.name = "web", .address = "198.18.0.2", .roles = {"app", "proxy"}}};
  m.databases[0].replicas = {"db2"};
  m.databases[0].replica_env_var = "DATABASE_REPLICA_URL";
  return m;
}

const ServerCheck* check_named(const ServerPlan& plan, std::string_view name) {
  for (const auto& c : plan.checks) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// The replication check of `server` judged on `records` (script_replication's, subject
// "replication").
CheckResult replication_judged(const manifest::Manifest& m, std::size_t server, const std::string& records) {
  const auto plan = plan_server_checks(m, m.servers[server], {"replication"});
  REQUIRE(plan.checks.size() == 1);
  const auto facts = parse_output(records + "@@berth end\n");
  REQUIRE(facts);
  const auto results = judge_server(plan, *facts);
  return find(results, "replication");
}

const ConditionOutcome& outcome(const CheckResult& r, std::string_view condition) {
  const auto it = std::find_if(r.conditions.begin(), r.conditions.end(),
                               [&](const ConditionOutcome& o) { return o.condition == condition; });
  REQUIRE(it != r.conditions.end());
  return *it;
}

}  // namespace

TEST_CASE("server: with PostgreSQL replicas the primary and each replica check the streaming") {
  auto m = replicated_fleet();
  const auto primary = plan_server_checks(m, m.servers[0]);
  const auto* on_primary = check_named(primary, "replication");
  REQUIRE(on_primary);
  CHECK(on_primary->kind == ServerCheckKind::replication);
  CHECK(on_primary->peers == std::vector<std::string>{"db2"});
  std::vector<std::string> conditions;
  for (const auto& c : on_primary->conditions) conditions.push_back(c.text);
  CHECK(conditions == std::vector<std::string>{"[MISSING_REPLICAS] == \"\"", "[REPLICA_LAG_BYTES] < 16777216",
                                               "[REPLICA_LAG_SECONDS] < 30",
                                               "[SLOT_RETAINED_BYTES] < 1073741824"});
  const auto replica = plan_server_checks(m, m.servers[1]);
  const auto* on_replica = check_named(replica, "replication");
  REQUIRE(on_replica);
  CHECK(on_replica->peers == std::vector<std::string>{"db1"});
  CHECK_FALSE(check_named(plan_server_checks(m, m.servers[2]), "replication"));
  const auto script = render_server_script(primary);
  CHECK(script.find("pg_stat_replication") != std::string::npos);
  CHECK(script.find("pg_stat_wal_receiver") != std::string::npos);
  CHECK(script.find("pg_replication_slots") != std::string::npos);

  SECTION("[server_checks] replaces the lag and slot thresholds") {
    m.server_checks.replication = {{"[REPLICA_LAG_BYTES] < 100", {}}};
    m.server_checks.replication_slot = {{"[SLOT_RETAINED_BYTES] < 1000", {}}};
    const auto plan = plan_server_checks(m, m.servers[0]);
    REQUIRE(check_named(plan, "replication"));
    std::vector<std::string> own;
    for (const auto& c : check_named(plan, "replication")->conditions) own.push_back(c.text);
    CHECK(own == std::vector<std::string>{"[MISSING_REPLICAS] == \"\"", "[REPLICA_LAG_BYTES] < 100",
                                          "[SLOT_RETAINED_BYTES] < 1000"});
  }
  SECTION("none without replicas") {
    m.databases[0].replicas.clear();
    for (const auto& s : m.servers) CHECK_FALSE(check_named(plan_server_checks(m, s), "replication"));
  }
  SECTION("--only replication keeps it alone") {
    CHECK(names_of(plan_server_checks(m, m.servers[1], {"replication"})) == std::vector<std::string>{"replication"});
  }
}

TEST_CASE("server: judging replication on the primary") {
  const auto m = replicated_fleet();
  const auto slot_ok = rec("replication", "slots", "berth_db2 t 4096");

  SECTION("its replica streaming passes") {
    const auto r = replication_judged(m, 0, rec("replication", "recovery", "f") +
                                                rec("replication", "replicas", "db2 streaming 1024 0.2") + slot_ok);
    INFO(r.error);
    CHECK(r.ok);
    CHECK(r.error.empty());
    CHECK(r.kind == "replication");
    CHECK(r.target == "primary (db2 streaming; berth_db2 keeps 4096 B)");
    CHECK(outcome(r, "[REPLICA_LAG_BYTES] < 16777216").observed == "1024");
  }
  SECTION("its replica absent fails, naming it") {
    const auto r =
        replication_judged(m, 0, rec("replication", "recovery", "f") + rec("replication", "replicas", "") + slot_ok);
    CHECK_FALSE(r.ok);
    CHECK(r.error == "replica db2 is not streaming from this primary");
    const auto& missing = outcome(r, "[MISSING_REPLICAS] == \"\"");
    CHECK_FALSE(missing.ok);
    CHECK(missing.observed == "db2");
    CHECK(r.target == "primary (no replica connected; berth_db2 keeps 4096 B)");
  }
  SECTION("its replica catching up is not streaming yet") {
    const auto r = replication_judged(m, 0, rec("replication", "recovery", "f") +
                                                rec("replication", "replicas", "db2 catchup 0 0") + slot_ok);
    CHECK_FALSE(r.ok);
    CHECK(r.error == "replica db2 is not streaming from this primary");
  }
  SECTION("a slot that keeps 2 GiB of WAL fails") {
    const auto r = replication_judged(m, 0, rec("replication", "recovery", "f") +
                                                rec("replication", "replicas", "db2 streaming 0 0") +
                                                rec("replication", "slots", "berth_db2 f 2147483648"));
    CHECK_FALSE(r.ok);
    const auto& slot = outcome(r, "[SLOT_RETAINED_BYTES] < 1073741824");
    CHECK_FALSE(slot.ok);
    CHECK(slot.observed == "2147483648");
    CHECK(outcome(r, "[MISSING_REPLICAS] == \"\"").ok);
    CHECK(r.target.find("berth_db2 keeps 2048.0 MiB") != std::string::npos);
  }
  SECTION("a lag of 30 s fails") {
    const auto r = replication_judged(m, 0, rec("replication", "recovery", "f") +
                                                rec("replication", "replicas", "db2 streaming 5000 30.0") + slot_ok);
    CHECK_FALSE(r.ok);
    CHECK_FALSE(outcome(r, "[REPLICA_LAG_SECONDS] < 30").ok);
  }
}

TEST_CASE("server: judging replication on a replica") {
  const auto m = replicated_fleet();
  SECTION("its receiver streaming from the primary, nothing behind, passes") {
    const auto r = replication_judged(m, 1, rec("replication", "recovery", "t") +
                                                rec("replication", "receiver", "streaming 198.18.0.3") +
                                                rec("replication", "lag", "0 0") + rec("replication", "slots", ""));
    INFO(r.error);
    CHECK(r.ok);
    CHECK(r.target == "replica of 198.18.0.3 (streaming, 0 B and 0.0 s behind)");
  }
  SECTION("no receiver fails") {
    const auto r = replication_judged(m, 1, rec("replication", "recovery", "t") + rec("replication", "receiver", "") +
                                                rec("replication", "lag", "0 0") + rec("replication", "slots", ""));
    CHECK_FALSE(r.ok);
    CHECK(r.error == "this replica's WAL receiver is not streaming (none)");
    CHECK(outcome(r, "[MISSING_REPLICAS] == \"\"").observed.find("db2") != std::string::npos);
  }
  SECTION("far behind fails") {
    const auto r = replication_judged(m, 1, rec("replication", "recovery", "t") +
                                                rec("replication", "receiver", "streaming 198.18.0.3") +
                                                rec("replication", "lag", "33554432 45.5"));
    CHECK_FALSE(r.ok);
    CHECK_FALSE(outcome(r, "[REPLICA_LAG_BYTES] < 16777216").ok);
    CHECK_FALSE(outcome(r, "[REPLICA_LAG_SECONDS] < 30").ok);
  }
}

TEST_CASE("server: judging replication when PostgreSQL does not answer") {
  const auto m = replicated_fleet();
  for (std::size_t server : {0, 1}) {
    const auto r = replication_judged(
        m, server,
        rec("replication", "error",
            "psql: error: connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: No such file "
            "or directory\n") +
            rec("replication", "journal", "2026-11-25T18:00:00+0000 db1 systemd[1]: Stopped PostgreSQL RDBMS."));
    INFO(m.servers[server].name);
    CHECK_FALSE(r.ok);
    CHECK(r.error.starts_with("PostgreSQL does not answer: psql: error: connection to server on socket"));
    CHECK(r.target == "PostgreSQL replication");
    REQUIRE(r.details.size() == 1);
    CHECK(r.details[0].find("Stopped PostgreSQL") != std::string::npos);
  }
}

namespace {

// tracker with [backups] on the server vault, its database verified weekly.
manifest::Manifest backed_up(manifest::Manifest m = tracker()) {
  m.servers.push_back({.name = "vault", .address = "198.18.0.9", .roles = {"backup"}});
  m.offsite = manifest::Offsite{.server = "vault"};
  m.databases[0].backups.verify = manifest::Verify{.query = "SELECT 1", .schedule = "weekly"};
  return m;
}

std::vector<std::string> conditions_of(const ServerCheck& c) {
  std::vector<std::string> out;
  for (const auto& condition : c.conditions)
    out.push_back(condition.text);
  return out;
}

// Check `name` of server `server` judged on `records`.
CheckResult judged(const manifest::Manifest& m, std::size_t server, const std::string& name,
                   const std::string& records) {
  const auto plan = plan_server_checks(m, m.servers[server], {name});
  REQUIRE(plan.checks.size() == 1);
  const auto facts = parse_output(records + "@@berth end\n");
  REQUIRE(facts);
  return find(judge_server(plan, *facts), name);
}

constexpr std::string_view now = "1790000000";

// The record `name` read, `hours` after it was written (as $(cat FILE): no newline).
std::string record_at(std::string_view name, double hours, std::string_view rest) {
  const auto at = 1790000000 - static_cast<long long>(hours * 3600);
  return rec(name, "record", fmt::format("{} {}", at, rest)) + rec(name, "now", now);
}

}  // namespace

TEST_CASE("server: with [backups] each db server checks its newest off-host copy, the primary its "
          "verification") {
  SECTION("one server: after the backup timer, by the schedules") {
    const auto m = backed_up();
    const auto plan = plan_server_checks(m, m.servers[0]);
    const auto names = names_of(plan);
    const auto backup = std::find(names.begin(), names.end(), "backup:main");
    REQUIRE(backup != names.end());
    REQUIRE(std::distance(backup, names.end()) > 2);
    CHECK(*(backup + 1) == "offsite:main");
    CHECK(*(backup + 2) == "verified:main");
    const auto* copy = check_named(plan, "offsite:main");
    REQUIRE(copy);
    CHECK(copy->kind == ServerCheckKind::offsite);
    CHECK(copy->record == "/var/lib/berth/tracker/backups/main.last");
    CHECK(copy->journal == "tracker-db-main-backup.service");
    CHECK(conditions_of(*copy) == std::vector<std::string>{"[BACKUP_AGE_HOURS] < 26"});
    const auto* verified = check_named(plan, "verified:main");
    REQUIRE(verified);
    CHECK(verified->kind == ServerCheckKind::verified);
    CHECK(verified->record == "/var/lib/berth/tracker/backups/main.verify");
    CHECK(verified->journal == "tracker-db-main-verify.service");
    CHECK(conditions_of(*verified) ==
          std::vector<std::string>{"[VERIFY_RESULT] == ok", "[VERIFY_AGE_HOURS] < 170"});
    const auto script = render_server_script(plan);
    CHECK(script.find("r=$(cat '/var/lib/berth/tracker/backups/main.last' 2>/dev/null)\nv 'offsite:main' record "
                      "\"$r\"\n") != std::string::npos);
    CHECK(script.find("case $r in '' | *' failed '*) journal 'verified:main' 'tracker-db-main-verify.service' ;; esac\n") !=
          std::string::npos);
    CHECK(script.find("v 'verified:main' now \"$(date -u +%s)\"") != std::string::npos);
    CHECK(kind_name(ServerCheckKind::offsite) == "offsite");
    CHECK(kind_name(ServerCheckKind::verified) == "verified");
  }
  SECTION("the default age follows the schedule; [server_checks] replaces it") {
    auto m = backed_up();
    m.databases[0].backups.schedule = "hourly";
    m.databases[0].backups.verify->schedule = "monthly";
    auto plan = plan_server_checks(m, m.servers[0], {"offsite", "verified"});
    REQUIRE(plan.checks.size() == 2);
    CHECK(conditions_of(plan.checks[0]) == std::vector<std::string>{"[BACKUP_AGE_HOURS] < 3"});
    CHECK(conditions_of(plan.checks[1]) ==
          std::vector<std::string>{"[VERIFY_RESULT] == ok", "[VERIFY_AGE_HOURS] < 746"});
    m.databases[0].backups.schedule = "03:00";
    m.databases[0].backups.verify->schedule = "Sun 05:00";
    plan = plan_server_checks(m, m.servers[0], {"offsite", "verified"});
    CHECK(conditions_of(plan.checks[0]) == std::vector<std::string>{"[BACKUP_AGE_HOURS] < 26"});
    CHECK(conditions_of(plan.checks[1]) ==
          std::vector<std::string>{"[VERIFY_RESULT] == ok", "[VERIFY_AGE_HOURS] < 26"});
    m.server_checks.backup = {{"[BACKUP_AGE_HOURS] < 50", {}}};
    m.server_checks.verification = {{"[VERIFY_RESULT] == ok", {}},
                                    {"[VERIFY_AGE_HOURS] < 200", {}}};
    plan = plan_server_checks(m, m.servers[0], {"offsite", "verified"});
    CHECK(conditions_of(plan.checks[0]) == std::vector<std::string>{"[BACKUP_AGE_HOURS] < 50"});
    CHECK(conditions_of(plan.checks[1]) ==
          std::vector<std::string>{"[VERIFY_RESULT] == ok", "[VERIFY_AGE_HOURS] < 200"});
  }
  SECTION("a primary and its replica both copy; the primary alone verifies; others neither") {
    const auto m = backed_up(replicated_fleet());
    CHECK(check_named(plan_server_checks(m, m.servers[0]), "offsite:main"));
    CHECK(check_named(plan_server_checks(m, m.servers[0]), "verified:main"));
    CHECK(check_named(plan_server_checks(m, m.servers[1]), "offsite:main"));
    CHECK_FALSE(check_named(plan_server_checks(m, m.servers[1]), "verified:main"));
    for (std::size_t i : {2, 3}) {
      INFO(m.servers[i].name);
      CHECK_FALSE(check_named(plan_server_checks(m, m.servers[i]), "offsite:main"));
      CHECK_FALSE(check_named(plan_server_checks(m, m.servers[i]), "verified:main"));
    }
  }
  SECTION("none without [backups], without verify, or without backups") {
    auto m = backed_up();
    m.databases[0].backups.verify.reset();
    CHECK(check_named(plan_server_checks(m, m.servers[0]), "offsite:main"));
    CHECK_FALSE(check_named(plan_server_checks(m, m.servers[0]), "verified:main"));
    m.databases[0].backups.enabled = false;
    CHECK_FALSE(check_named(plan_server_checks(m, m.servers[0]), "offsite:main"));
    const auto plain = tracker();
    const auto names = names_of(plan_server_checks(plain, plain.servers[0]));
    CHECK(std::none_of(names.begin(), names.end(), [](const std::string& n) {
      return n.starts_with("offsite") || n.starts_with("verified");
    }));
  }
}

TEST_CASE("server: judging an off-host copy by the age of its record") {
  const auto m = backed_up();
  SECTION("25 hours old passes a daily schedule, with the snapshot and its size") {
    const auto r = judged(m, 0, "offsite:main", record_at("offsite:main", 25, "a1b2c3d4 2097152"));
    INFO(r.error);
    CHECK(r.ok);
    CHECK(r.kind == "offsite");
    CHECK(r.conditions[0].observed == "25");
    CHECK(r.target == "main: snapshot a1b2c3d4 (2.0 MiB), 25.0 h old");
  }
  SECTION("27 hours old fails") {
    const auto r = judged(m, 0, "offsite:main", record_at("offsite:main", 27, "a1b2c3d4 512"));
    CHECK_FALSE(r.ok);
    CHECK(r.conditions[0].observed == "27");
    CHECK(r.target == "main: snapshot a1b2c3d4 (512 B), 27.0 h old");
  }
  SECTION("the age is to a tenth of an hour") {
    const auto r = judged(m, 0, "offsite:main", record_at("offsite:main", 1.5, "a1b2c3d4 512"));
    CHECK(r.ok);
    CHECK(r.conditions[0].observed == "1.5");
  }
  SECTION("no record: no copy from this server yet, which fails, saying how to make one") {
    for (const auto& records :
         {rec("offsite:main", "record", "") + rec("offsite:main", "now", now),
          rec("offsite:main", "record", "garbage") + rec("offsite:main", "now", now),
          std::string()}) {
      const auto r = judged(m, 0, "offsite:main", records);
      CHECK_FALSE(r.ok);
      CHECK(r.error ==
            "no off-host copy of main from this server yet (berth db backup main makes one)");
      CHECK(r.conditions[0].observed == r.error);
    }
  }
}

TEST_CASE("server: judging the last verification") {
  const auto m = backed_up();
  SECTION("ok an hour ago passes, with the query's value") {
    const auto r = judged(m, 0, "verified:main", record_at("verified:main", 1, "a1b2c3d4 ok 1532"));
    INFO(r.error);
    CHECK(r.ok);
    CHECK(r.kind == "verified");
    CHECK(outcome(r, "[VERIFY_RESULT] == ok").observed == "ok");
    CHECK(outcome(r, "[VERIFY_AGE_HOURS] < 170").observed == "1");
    CHECK(r.target == "main: snapshot a1b2c3d4 restored 1.0 h ago, the query gave 1532");
  }
  SECTION("failed fails with VERIFY_RESULT failed and why") {
    const auto r =
        judged(m, 0, "verified:main",
               record_at("verified:main", 1, "a1b2c3d4 failed the query gave 3, below 10"));
    CHECK_FALSE(r.ok);
    const auto& result = outcome(r, "[VERIFY_RESULT] == ok");
    CHECK_FALSE(result.ok);
    CHECK(result.observed == "failed");
    CHECK(outcome(r, "[VERIFY_AGE_HOURS] < 170").ok);
    CHECK(r.target ==
          "main: snapshot a1b2c3d4 FAILED verification 1.0 h ago: the query gave 3, below 10");
  }
  SECTION("an ok verification older than the schedule allows fails on its age") {
    const auto r =
        judged(m, 0, "verified:main", record_at("verified:main", 171, "a1b2c3d4 ok 1532"));
    CHECK_FALSE(r.ok);
    CHECK(outcome(r, "[VERIFY_RESULT] == ok").ok);
    CHECK_FALSE(outcome(r, "[VERIFY_AGE_HOURS] < 170").ok);
    CHECK(outcome(r, "[VERIFY_AGE_HOURS] < 170").observed == "171");
  }
  SECTION("no record: never verified, which fails") {
    const auto r = judged(m, 0, "verified:main",
                          rec("verified:main", "record", "") + rec("verified:main", "now", now));
    CHECK_FALSE(r.ok);
    CHECK(outcome(r, "[VERIFY_RESULT] == ok").observed == "never");
    CHECK(r.target == "main: never verified");
  }
  SECTION("an empty repository's record is a failure too") {
    const auto r = judged(m, 0, "verified:main",
                          record_at("verified:main", 2, "- failed no copy in the repository"));
    CHECK_FALSE(r.ok);
    CHECK(outcome(r, "[VERIFY_RESULT] == ok").observed == "failed");
    CHECK(r.target.ends_with(": no copy in the repository"));
  }
}
