#include <core/error.hpp>
#include <core/manifest/load.hpp>
#include <core/manifest/presets.hpp>
#include <core/manifest/toml_tree.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace berth::manifest;
namespace fs = std::filesystem;

namespace {

const std::string data_dir = std::string(BERTH_SOURCE_DIR) + "/tests/unit/data/manifests";

// A fresh folder under /tmp for one test's manifests.
fs::path temp_dir() {
  static std::atomic<int> counter{0};
  auto dir = fs::temp_directory_path() /
             ("berth-manifest-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

// Loads `text` as a berth.toml; the folder is removed afterwards.
LoadResult load_text(const std::string& text) {
  const auto dir = temp_dir();
  write(dir / "berth.toml", text);
  auto result = load((dir / "berth.toml").string());
  fs::remove_all(dir);
  return result;
}

const std::string valid_head = R"(
[app]
name = "shop"
[app.run]
command = "node server.js"
[servers.web]
address = "198.18.0.2"
)";

std::vector<Diagnostic> errors_of(const LoadResult& r) {
  std::vector<Diagnostic> out;
  for (const auto& d : r.diagnostics) {
    if (d.severity == Severity::error) out.push_back(d);
  }
  return out;
}

// The one error of `text`, which must be the only one.
Diagnostic only_error(const std::string& text) {
  const auto result = load_text(text);
  const auto errors = errors_of(result);
  INFO(text);
  for (const auto& e : errors) INFO(e.to_string());
  REQUIRE(errors.size() == 1);
  CHECK_FALSE(result.ok());
  return errors.front();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("load: a complete manifest becomes data") {
  const auto result = load(data_dir + "/full.toml");
  for (const auto& d : result.diagnostics) INFO(d.to_string());
  REQUIRE(result.ok());
  CHECK(result.diagnostics.empty());
  const auto& m = *result.manifest;

  CHECK(m.path == fs::path(data_dir) / "full.toml");
  CHECK(m.dir == fs::path(data_dir));
  CHECK(m.app.name == "shop");
  CHECK(m.app.keep_releases == 3);
  CHECK(m.app.build.command == "npm ci && npm run build");
  CHECK(m.app.build.dir == "web");
  CHECK(m.app.build.ignore == std::vector<std::string>{".git", "*.log"});
  CHECK(m.app.run.port == 4000);
  CHECK(m.app.run.instances == 2);
  CHECK(m.app.run.migrate == "prisma");
  CHECK(m.app.run.env.at("API_BASE") == "https://${env:API_HOST}/v1");
  REQUIRE(m.app.run.secrets.size() == 2);
  CHECK(m.app.run.secrets[0].name == "JWT_SECRET");
  CHECK(m.app.run.secrets[0].generate);
  CHECK(m.app.run.secrets[0].length == 48);
  CHECK(m.app.run.secrets[1].value == "${secret:STRIPE_KEY}");
  CHECK_FALSE(m.app.run.secrets[1].generate);

  SECTION("servers are sorted by name, with every field") {
    REQUIRE(m.servers.size() == 3);
    CHECK(m.servers[0].name == "db1");
    CHECK(m.servers[1].name == "web1");
    CHECK(m.servers[2].name == "web2");
    const auto* web1 = m.find_server("web1");
    REQUIRE(web1 != nullptr);
    CHECK(web1->port == 2222);
    CHECK(web1->user == "admin");
    CHECK(web1->proxy_jump == "jump@bastion:22");
    CHECK(web1->known_hosts == ".berth/known_hosts");
    CHECK(web1->has_role("proxy"));
    CHECK_FALSE(web1->has_role("db"));
    CHECK(web1->where.line > 0);
  }
  SECTION("databases get defaults from the app and their engine") {
    REQUIRE(m.databases.size() == 3);
    CHECK(m.databases[0].key == "cache");
    CHECK(m.databases[0].engine == Engine::redis);
    CHECK(m.databases[0].env_var == "REDIS_URL");
    CHECK(m.databases[1].key == "docs");
    CHECK(m.databases[1].env_var == "MONGODB_URL");
    CHECK(m.databases[1].name == "documents");
    CHECK(m.databases[2].key == "main");
    CHECK(m.databases[2].engine == Engine::postgresql);
    CHECK(m.databases[2].name == "shop");
    CHECK(m.databases[2].user == "shop");
    CHECK(m.databases[2].env_var == "DATABASE_URL");
    CHECK(m.databases[2].version == "15");
    CHECK(m.databases[2].backups.keep_days == 14);
    CHECK(m.databases[2].backups.schedule == "03:00");
  }
  SECTION("proxy") {
    REQUIRE(m.proxy);
    CHECK(m.proxy->tls == Tls::letsencrypt);
    CHECK(m.proxy->domains.size() == 2);
    REQUIRE(m.proxy->rate_limit);
    CHECK(m.proxy->rate_limit->requests_per_second == 5);
    CHECK(m.proxy->rate_limit->connections == 20);
    CHECK(m.proxy->headers.at("X-Frame-Options") == "DENY");
    CHECK(m.proxy->bot_user_agents == std::vector<std::string>{"BadBot"});
    CHECK(m.proxy->max_body == "25m");
  }
  SECTION("jobs, with cron converted to OnCalendar") {
    REQUIRE(m.jobs.size() == 2);
    CHECK(m.jobs[0].name == "report");
    CHECK(m.jobs[0].on_calendar == "Mon..Fri *-*-* 08:30:00");
    CHECK(m.jobs[0].run_on == RunOn::all);
    CHECK(m.jobs[0].overlap == Overlap::allow);
    CHECK(m.jobs[0].timeout == "30min");
    CHECK(m.jobs[0].role == "app");
    CHECK(m.jobs[1].on_calendar == "weekly");
    CHECK(m.jobs[1].role == "db");
    CHECK(m.jobs[1].run_on == RunOn::one);
  }
  SECTION("health checks keep where each condition was written") {
    REQUIRE(m.health.size() == 2);
    CHECK(m.health[0].conditions.size() == 3);
    CHECK(m.health[0].conditions[1].text == "[BODY].status == UP");
    CHECK(m.health[0].conditions[1].where.line > m.health[0].where.line);
    CHECK(m.health[0].interval == "10s");
    CHECK(m.health[1].kind == "tcp");
  }
  SECTION("hooks, base and secret sources") {
    REQUIRE(m.hooks.pre_build.size() == 1);
    CHECK(m.hooks.pre_build[0].command == "npm test");
    CHECK_FALSE(m.hooks.pre_build[0].remote);
    REQUIRE(m.hooks.pre_deploy.size() == 1);
    CHECK(m.hooks.pre_deploy[0].remote);
    CHECK(m.base.timezone == "Europe/Paris");
    CHECK(m.base.open_ports == std::vector<int>{8443});
    REQUIRE(m.secrets.size() == 1);
    CHECK(m.secrets[0].name == "STRIPE_KEY");
    CHECK(m.secrets[0].command == "printf sk_test_from_command");
  }
}

TEST_CASE("load: [[health]] reads the request, TLS and gate keys") {
  const auto dir = temp_dir();
  fs::create_directories(dir / "certs");
  write(dir / "certs" / "ca.pem", "-----BEGIN CERTIFICATE-----\n");
  write(dir / "berth.toml", valid_head + R"(
[[health]]
name = "staging"
url = "https://app.example.com/healthz"
method = "HEAD"
headers = { X-Token = "ops", Accept = "application/json" }
connect_to = ["app.example.com:443:198.18.0.2:443", "::[::1]:8443"]
ca_file = "certs/ca.pem"
connect_timeout = "2s"
success_threshold = 3

[[health]]
name = "self-signed"
url = "https://198.18.0.2/"
insecure = true
)");
  const auto result = load((dir / "berth.toml").string());
  fs::remove_all(dir);
  for (const auto& d : result.diagnostics) INFO(d.to_string());
  REQUIRE(result.ok());
  const auto& m = *result.manifest;
  REQUIRE(m.health.size() == 2);
  const auto& h = m.health[0];
  CHECK(h.method == "HEAD");
  CHECK(h.headers ==
        std::map<std::string, std::string>{{"Accept", "application/json"}, {"X-Token", "ops"}});
  CHECK(h.connect_to ==
        std::vector<std::string>{"app.example.com:443:198.18.0.2:443", "::[::1]:8443"});
  SECTION("ca_file is resolved against the manifest's folder") {
    CHECK(h.ca_file == (m.dir / "certs" / "ca.pem").string());
  }
  CHECK_FALSE(h.insecure);
  CHECK(h.connect_timeout == "2s");
  CHECK(h.success_threshold == 3);
  SECTION("the defaults") {
    const auto& d = m.health[1];
    CHECK(d.insecure);
    CHECK(d.method == "GET");
    CHECK(d.headers.empty());
    CHECK(d.connect_to.empty());
    CHECK(d.ca_file.empty());
    CHECK(d.connect_timeout.empty());
    CHECK(d.success_threshold == 1);
  }
}

TEST_CASE("load: [[health]] request and TLS keys are checked") {
  const std::string head = valid_head + "[[health]]\nname = \"h\"\n";
  struct Case {
    std::string toml;
    std::string expected;
    int line;
  };
  const std::vector<Case> cases{
      {"url = \"/\"\nmethod = \"get\"\n", "method 'get' is not an HTTP method", 11},
      {"url = \"/\"\nheaders = { \"X Y\" = \"1\" }\n", "header 'X Y' is not a header name", 11},
      {"url = \"/\"\nheaders = { X = 1 }\n", "must be a string", 11},
      {"url = \"/\"\nconnect_to = [\"a.test:443\"]\n",
       "connect_to 'a.test:443' is not HOST:PORT:ADDRESS:PORT", 11},
      {"url = \"/\"\nconnect_to = [\"a:https:b:443\"]\n", "connect_to 'a:https:b:443'", 11},
      {"url = \"https://a.test/\"\nca_file = \"missing.pem\"\n", "missing.pem is not a file", 11},
      {"url = \"http://a.test/\"\ninsecure = true\n", "ca_file and insecure are for https checks",
       11},
      {"kind = \"tcp\"\nurl = \"a:1\"\ninsecure = true\n",
       "ca_file and insecure are for https checks", 12},
      {"url = \"/\"\nconnect_timeout = \"fast\"\n", "connect_timeout 'fast' is not a duration", 11},
      {"url = \"/\"\nsuccess_threshold = 0\n", "out of range", 11},
      {"url = \"/\"\ninsecure = \"yes\"\n", "must be a boolean", 11},
  };
  for (const auto& c : cases) {
    const auto e = only_error(head + c.toml);
    INFO(e.to_string());
    CHECK(contains(e.message, c.expected));
    CHECK(e.where.line == c.line);
  }
  SECTION("insecure together with ca_file") {
    const auto dir = temp_dir();
    write(dir / "ca.pem", "");
    write(dir / "berth.toml",
          head + "url = \"https://a.test/\"\nca_file = \"ca.pem\"\ninsecure = true\n");
    const auto errors = errors_of(load((dir / "berth.toml").string()));
    fs::remove_all(dir);
    REQUIRE(errors.size() == 1);
    CHECK(contains(errors[0].message, "insecure = true skips the verification ca_file is for"));
  }
}

TEST_CASE("load: defaults of a minimal manifest") {
  const auto result = load_text(valid_head);
  REQUIRE(result.ok());
  const auto& m = *result.manifest;
  CHECK(m.app.run.runtime == "node");
  CHECK(m.app.run.port == 3000);
  CHECK(m.app.keep_releases == 5);
  REQUIRE(m.servers.size() == 1);
  CHECK(m.servers[0].port == 22);
  CHECK(m.servers[0].user == "root");
  CHECK(m.servers[0].roles.empty());
  for (auto role : {"db", "app", "proxy"}) CHECK(m.servers[0].has_role(role));
  CHECK_FALSE(m.proxy);
  CHECK(m.base.deploy_user == "deploy");
  CHECK(m.base.harden);
}

TEST_CASE("load: [base] harden = false is read") {
  const auto result = load_text(valid_head + "\n[base]\nharden = false\n");
  for (const auto& d : result.diagnostics) INFO(d.to_string());
  REQUIRE(result.ok());
  CHECK_FALSE(result.manifest->base.harden);
}

TEST_CASE("load: -e merges berth.ENV.toml over the manifest") {
  SECTION("tables merge key by key, values replace") {
    const auto result = load(data_dir + "/full.toml", "staging");
    for (const auto& d : result.diagnostics) INFO(d.to_string());
    REQUIRE(result.ok());
    const auto& m = *result.manifest;
    CHECK(m.app.run.instances == 1);
    CHECK(m.app.run.port == 4000);
    CHECK(m.find_server("web1")->address == "198.18.1.2");
    CHECK(m.find_server("web1")->port == 2222);
    CHECK(m.proxy->tls == Tls::self_signed);
    CHECK(m.proxy->domains == std::vector<std::string>{"staging.example.com"});
  }
  SECTION("a problem in the overlay is located in the overlay") {
    const auto dir = temp_dir();
    write(dir / "berth.toml", valid_head);
    write(dir / "berth.prod.toml", "[servers.web]\nadress = \"x\"\n");
    const auto result = load((dir / "berth.toml").string(), "prod");
    fs::remove_all(dir);
    const auto errors = errors_of(result);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].where.file == (dir / "berth.prod.toml").string());
    CHECK(errors[0].where.line == 2);
    CHECK(contains(errors[0].message, "did you mean 'address'?"));
  }
  SECTION("a missing overlay is an error naming the file") {
    const auto dir = temp_dir();
    write(dir / "berth.toml", valid_head);
    const auto result = load((dir / "berth.toml").string(), "nope");
    fs::remove_all(dir);
    REQUIRE(errors_of(result).size() == 1);
    CHECK(contains(errors_of(result)[0].message, "berth.nope.toml"));
  }
}

TEST_CASE("load: every kind of mistake is a located error") {
  SECTION("a missing file") {
    const auto result = load("/nonexistent/berth.toml");
    REQUIRE(errors_of(result).size() == 1);
    CHECK(contains(result.diagnostics[0].message, "berth init"));
    CHECK(result.diagnostics[0].to_string().starts_with("/nonexistent/berth.toml: error: "));
  }
  SECTION("TOML syntax, with line and column") {
    const auto e = only_error("[app]\nname = \"shop\"\nport = = 3\n");
    CHECK(e.where.line == 3);
    CHECK(e.where.column > 1);
    CHECK(contains(e.message, "invalid TOML"));
  }
  SECTION("an unknown key, with a suggestion") {
    const auto e = only_error(valid_head + "prot = 22\n");
    CHECK(e.where.line == 8);
    CHECK(e.where.column == 1);
    CHECK(e.message == "unknown key 'prot' in [servers.web]; did you mean 'port'?");
  }
  SECTION("an unknown key far from every known one lists them") {
    const auto e = only_error(valid_head + "[frobnicate]\n");
    CHECK(contains(e.message, "known keys: app, servers"));
  }
  SECTION("a wrong type") {
    const auto e = only_error(valid_head + "port = \"22\"\n");
    CHECK(e.message == "'port' in [servers.web] must be an integer, not a string");
    CHECK(e.where.line == 8);
  }
  SECTION("a missing required key") {
    const auto e = only_error("[app]\nname = \"shop\"\n[app.run]\nport = 3000\n"
                              "[servers.web]\naddress = \"a\"\n");
    CHECK(contains(e.message, "missing required key 'command' in [app.run]"));
    CHECK(e.where.line == 3);
  }
  SECTION("missing [servers]") {
    const auto e = only_error("[app]\nname = \"shop\"\n[app.run]\ncommand = \"x\"\n");
    CHECK(contains(e.message, "missing required key 'servers'"));
  }
  SECTION("a value not allowed, with a suggestion") {
    const auto e = only_error(valid_head + "[databases.main]\nengine = \"postgres\"\n");
    CHECK(contains(e.message, "must be one of postgresql, mysql, redis, mongodb, not 'postgres'"));
    CHECK(contains(e.message, "did you mean 'postgresql'?"));
  }
  SECTION("a port out of range") {
    const auto e = only_error(valid_head + "port = 70000\n");
    CHECK(contains(e.message, "out of range (1..65535)"));
  }
  SECTION("an invalid app name") {
    const auto e = only_error("[app]\nname = \"My App\"\n[app.run]\ncommand = \"x\"\n"
                              "[servers.web]\naddress = \"a\"\n");
    CHECK(contains(e.message, "app name 'My App'"));
    CHECK(e.where.line == 2);
  }
  SECTION("a job on a role no server has") {
    const auto e = only_error(
        "[app]\nname = \"shop\"\n[app.run]\ncommand = \"x\"\n[servers.web]\naddress = \"a\"\n"
        "roles = [\"app\"]\n[[jobs]]\nname = \"v\"\nschedule = \"daily\"\ncommand = \"x\"\n"
        "role = \"db\"\n");
    CHECK(contains(e.message, "job v needs a server with role 'db'"));
    CHECK(e.where.line == 12);
  }
  SECTION("a database without a db server") {
    const auto e = only_error(
        "[app]\nname = \"shop\"\n[app.run]\ncommand = \"x\"\n[servers.web]\naddress = \"a\"\n"
        "roles = [\"app\"]\n[databases.main]\nengine = \"mysql\"\n");
    CHECK(contains(e.message, "[databases.main] needs a server with role 'db'"));
  }
  SECTION("a health check naming nothing") {
    const auto e = only_error(valid_head + "[[health]]\nname = \"h\"\n");
    CHECK(contains(e.message, "health check 'h' checks nothing"));
    CHECK(e.where.line == 8);
  }
  SECTION("an invalid schedule") {
    const auto e = only_error(valid_head +
                              "[[jobs]]\nname = \"r\"\nschedule = \"61 * * * *\"\ncommand = \"x\"\n");
    CHECK(contains(e.message, "minute 61 is out of range (0-59)"));
  }
  SECTION("an invalid backup schedule") {
    const auto e = only_error(valid_head +
                              "[databases.main]\nengine = \"postgresql\"\n"
                              "backups = { schedule = \"every day\" }\n");
    CHECK(contains(e.message, "backup schedule of [databases.main]"));
  }
  SECTION("duplicate job names") {
    const auto e = only_error(valid_head +
                              "[[jobs]]\nname = \"r\"\nschedule = \"daily\"\ncommand = \"x\"\n"
                              "[[jobs]]\nname = \"r\"\nschedule = \"hourly\"\ncommand = \"y\"\n");
    CHECK(e.message == "duplicate job name 'r' (first defined at line 9)");
    CHECK(e.where.line == 13);
  }
  SECTION("duplicate health check names") {
    const auto e = only_error(valid_head + "[[health]]\nname = \"h\"\nurl = \"/\"\n"
                                           "[[health]]\nname = \"h\"\nurl = \"/x\"\n");
    CHECK(contains(e.message, "duplicate health check name 'h'"));
  }
  SECTION("a malformed health condition, located at the condition") {
    const auto e = only_error(valid_head + "[[health]]\nname = \"h\"\nurl = \"/\"\n"
                                           "conditions = [\n  \"[STATUS] == 200\",\n"
                                           "  \"STATUS = 200\",\n]\n");
    CHECK(contains(e.message, "condition 'STATUS = 200': expected an operator"));
    // At the '=' the parser stopped on: the opening quote is column 3, '=' the 8th character.
    CHECK(e.where.line == 13);
    CHECK(e.where.column == 11);
  }
  SECTION("a bad reference") {
    const auto e = only_error(valid_head + "[app.run.env]\nX = \"${vault:X}\"\n");
    CHECK(contains(e.message, "env X: '${vault:X}' is not a reference"));
  }
  SECTION("letsencrypt without an e-mail") {
    const auto e = only_error(valid_head + "[proxy]\ndomains = [\"a.example.com\"]\n"
                                           "tls = \"letsencrypt\"\n");
    CHECK(contains(e.message, "needs acme_email"));
  }
  SECTION("two databases giving the same variable") {
    const auto e = only_error(valid_head + "[databases.a]\nengine = \"postgresql\"\n"
                                           "[databases.b]\nengine = \"mysql\"\n");
    CHECK(contains(e.message, "both set DATABASE_URL"));
  }
  SECTION("a remote pre_build hook") {
    const auto e = only_error(valid_head + "[hooks]\npre_build = [{ command = \"x\", remote = true }]\n");
    CHECK(contains(e.message, "pre_build hooks run locally"));
  }
  SECTION("a bad time span") {
    const auto e = only_error(valid_head + "[[jobs]]\nname = \"r\"\nschedule = \"daily\"\n"
                                           "command = \"x\"\ntimeout = \"soon\"\n");
    CHECK(contains(e.message, "timeout 'soon'"));
  }
}

TEST_CASE("load: smaller checks each give one error") {
  struct Case {
    std::string toml;
    std::string expected;
  };
  const std::vector<Case> cases{
      {"[servers.web2]\naddress = \"\"\n", "server web2 has an empty address"},
      {"[servers.\"bad name\"]\naddress = \"a\"\n", "server name 'bad name'"},
      {"[app.run.secrets]\nK = { generate = false }\n", "secret K: generate must be true"},
      {"[[jobs]]\nname = \"j\"\nschedule = \"daily\"\ncommand = \"\"\n", "job j has an empty command"},
      {"[[jobs]]\nname = \"Big\"\nschedule = \"daily\"\ncommand = \"x\"\n", "job name 'Big'"},
      {"[hooks]\npost_deploy = [\"\"]\n", "post_deploy hook has an empty command"},
      {"[[health]]\nname = \"h\"\nurl = \"example.com\"\n", "must start with /, http:// or https://"},
      {"[[health]]\nname = \"h\"\nkind = \"tcp\"\nurl = \"http://x\"\n", "a tcp url is host:port"},
      {"[[health]]\nname = \"h\"\nurl = \"/\"\ninterval = \"often\"\n", "interval 'often'"},
      {"[[health]]\nname = \"h\"\nurl = \"/\"\nconditions = [\"[STATUSS] == 200\"]\n",
       "unknown placeholder [STATUSS]"},
      {"[proxy]\ndomains = [\"not a domain\"]\n", "'not a domain' is not a domain name"},
      {"[servers.edge]\naddress = \"b\"\nroles = [\"proxy\"]\n[proxy]\n",
       "server edge: app server web lets the proxies in by address, and 'b' is not an IP address"},
      {"[servers.app2]\naddress = \"alias\"\nroles = [\"app\"]\n[proxy]\n",
       "server app2: proxy server web reaches its app instances by address"},
      {"[servers.web2]\naddress = \"198.18.0.3\"\nprivate_address = \"10.0.0\"\n",
       "private_address '10.0.0' of server web2 is not an IP address"},
      {"[deploy]\nbatch = 2\n", "batch = 2 is more than the 1 app server(s)"},
      {"[deploy]\nbatch = \"half\"\n", "batch 'half' must be a number of servers or a share"},
      {"[deploy]\nbatch = \"150%\"\n", "batch '150%' must be"},
      {"[deploy]\nbatch = 0\n", "batch"},
      {"[deploy]\nmax_fail = 1\n", "max_fail = 1 lets every one of the 1 app server(s) fail: make it at most 0"},
      {"[proxy]\nmax_body = \"ten megs\"\n", "max_body 'ten megs'"},
      {"[proxy.headers]\nX = \"${secret:}\"\n", "header X:"},
      {"[base]\nswap = \"lots\"\n", "swap 'lots'"},
      {"[app.run.env]\nK = \"a\"\n[app.run.secrets]\nK = \"${secret:K}\"\n",
       "K is in both [app.run.env] and [app.run.secrets]"},
      {"[app.run.env]\nDATABASE_URL = \"x\"\n[databases.main]\nengine = \"postgresql\"\n",
       "[databases.main] gives the app DATABASE_URL, which [app.run.env] sets too"},
      {"[base]\ndeploy_user = \"Deploy User\"\n", "deploy_user 'Deploy User'"},
      {"[base]\nopen_ports = [0]\n", "'open_ports item 1' in [base] is 0, out of range"},
      {"[servers.web2]\naddress = \"b\"\nbecome = \"yes\"\n",
       "'become' in [servers.web2] must be a boolean (true or false), not a string"},
      {"[[jobs]]\nname = \"j\"\nschedule = \"daily\"\ncommand = \"x\"\nrun_on = \"every\"\n",
       "'run_on' in [jobs #1] must be one of one, all, not 'every'"},
  };
  for (const auto& c : cases) {
    const auto e = only_error(valid_head + c.toml);
    INFO(e.to_string());
    CHECK(contains(e.message, c.expected));
    CHECK(e.where.line > 0);
  }
}

TEST_CASE("load: instances must fit below port 65536") {
  const auto e = only_error("[app]\nname = \"a\"\n[app.run]\ncommand = \"x\"\nport = 65500\n"
                            "instances = 64\n[servers.web]\naddress = \"a\"\n");
  CHECK(contains(e.message, "instances 64 from port 65500 would use ports beyond 65535"));
  CHECK(e.where.line == 6);
}

TEST_CASE("load: a bad environment name is refused") {
  const auto result = load(data_dir + "/full.toml", "../etc");
  REQUIRE(errors_of(result).size() == 1);
  CHECK(contains(result.diagnostics[0].message, "an environment name is"));
}

TEST_CASE("load: a secret written in clear is a warning, not an error") {
  const auto result = load_text(valid_head + "[app.run.secrets]\nTOKEN = \"abc123\"\n");
  REQUIRE(result.ok());
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.diagnostics[0].severity == Severity::warning);
  CHECK(result.diagnostics[0].to_string().find(": warning: secret TOKEN is written in clear") !=
        std::string::npos);
}

TEST_CASE("load: five mistakes give five located errors in one run") {
  const auto result = load(data_dir + "/five_mistakes.toml");
  const auto errors = errors_of(result);
  for (const auto& e : errors) INFO(e.to_string());
  REQUIRE(errors.size() == 5);
  CHECK_FALSE(result.ok());
  // In file order, each on the line of its mistake.
  CHECK(errors[0].where.line == 7);
  CHECK(errors[1].where.line == 11);
  CHECK(errors[2].where.line == 16);
  CHECK(errors[3].where.line == 23);
  CHECK(errors[4].where.line == 28);
  CHECK(errors[4].where.column == 23);  // the '=' inside "STATUS = 200"
  for (const auto& e : errors) {
    CHECK(e.to_string().starts_with(data_dir + "/five_mistakes.toml:"));
  }
}

TEST_CASE("load: load_or_throw lists every error") {
  try {
    load_or_throw(data_dir + "/five_mistakes.toml");
    FAIL("no exception");
  } catch (const berth::Error& e) {
    const std::string what = e.what();
    CHECK(contains(what, "(5 errors)"));
    CHECK(contains(what, "did you mean 'port'?"));
    CHECK(e.code() == berth::ExitCode::failure);
  }
  std::vector<Diagnostic> warnings;
  const auto m = load_or_throw(data_dir + "/full.toml", "", &warnings);
  CHECK(m.app.name == "shop");
  CHECK(warnings.empty());
}

TEST_CASE("load: select_servers filters by name and role") {
  const auto m = load_or_throw(data_dir + "/full.toml");
  auto names = [](const std::vector<const Server*>& servers) {
    std::vector<std::string> out;
    for (const auto* s : servers) out.push_back(s->name);
    return out;
  };
  CHECK(names(select_servers(m, {}, {})) == std::vector<std::string>{"db1", "web1", "web2"});
  CHECK(names(select_servers(m, {}, {"app"})) == std::vector<std::string>{"web1", "web2"});
  CHECK(names(select_servers(m, {"web2", "db1"}, {})) == std::vector<std::string>{"db1", "web2"});
  CHECK(names(select_servers(m, {"web1", "db1"}, {"db"})) == std::vector<std::string>{"db1"});
  CHECK_THROWS_WITH(select_servers(m, {"web3"}, {}), Catch::Contains("unknown server 'web3'"));
  CHECK_THROWS_WITH(select_servers(m, {}, {"cache"}), Catch::Contains("unknown role 'cache'"));
  CHECK_THROWS_WITH(select_servers(m, {"web2"}, {"db"}), Catch::Contains("no server matches"));
}

TEST_CASE("load: [server_checks] takes conditions on its own measure only") {
  SECTION("valid lists") {
    const auto result = load_text(valid_head + R"(
[server_checks]
disk = ["[DISK_USED] < 80"]
memory = ["[MEMORY_AVAILABLE] > 5"]
load = ["[LOAD_PER_CORE] < 4"]
certificate = ["[CERTIFICATE_EXPIRATION] > 720h"]
)");
    for (const auto& d : result.diagnostics) INFO(d.to_string());
    REQUIRE(result.ok());
    CHECK(result.manifest->server_checks.disk[0].text == "[DISK_USED] < 80");
    CHECK(result.manifest->server_checks.certificate.size() == 1);
  }
  SECTION("another measure's placeholder, or a malformed condition, is named with its place") {
    const auto e = only_error(valid_head + "[server_checks]\ndisk = [\"[MEMORY_AVAILABLE] > 5\"]\n");
    CHECK(contains(e.message, "unknown placeholder [MEMORY_AVAILABLE]"));
    CHECK(e.where.line == 9);
    const auto wrong = only_error(valid_head + "[server_checks]\nload = [\"[STATUS] == 200\"]\n");
    CHECK(contains(wrong.message, "must use [LOAD_PER_CORE]"));
    CHECK(contains(only_error(valid_head + "[server_checks]\nswap = []\n").message, "unknown key 'swap'"));
  }
}

TEST_CASE("load: [app.run] drain and stop_timeout are durations with bounds") {
  const auto defaults = load_text(valid_head);
  REQUIRE(defaults.ok());
  CHECK(defaults.manifest->app.run.drain == std::chrono::seconds(3));
  CHECK(defaults.manifest->app.run.stop_timeout == std::chrono::seconds(30));

  const auto set = load_text(R"(
[app]
name = "shop"
[app.run]
command = "node server.js"
drain = "500ms"
stop_timeout = "2m"
[servers.web]
address = "198.18.0.2"
)");
  REQUIRE(set.ok());
  CHECK(set.manifest->app.run.drain == std::chrono::milliseconds(500));
  CHECK(set.manifest->app.run.stop_timeout == std::chrono::minutes(2));

  const auto with = [](const std::string& line) {
    return "[app]\nname = \"shop\"\n[app.run]\ncommand = \"node server.js\"\n" + line +
           "\n[servers.web]\naddress = \"198.18.0.2\"\n";
  };
  const auto unknown = only_error(with("drain = \"3 parsecs\""));
  CHECK(unknown.where.line == 5);
  CHECK(unknown.where.column == 9);
  CHECK(contains(unknown.message, "drain '3 parsecs' is not a duration"));
  const auto longer = only_error(with("stop_timeout = \"1h\""));
  CHECK(contains(longer.message, "stop_timeout '1h' is longer than the 15m berth allows"));
}

TEST_CASE("load: every value that reaches a server is checked against its target, each bad one located") {
  struct Case {
    std::string toml;  // appended to a valid manifest
    std::string message;
  };
  const std::vector<Case> cases{
      {"[app.run.env]\n\"A B\\nEVIL_KEY\" = \"1\"\n", "env name 'A B\\x0aEVIL_KEY' must be letters"},
      {"[app.run.env]\n\"9LIVES\" = \"1\"\n", "env name '9LIVES' must be letters"},
      {"[app.run.env]\nA = \"x\\u0000y\"\n", "env A: a value cannot hold a NUL character"},
      {"[app.run.secrets]\n\"$(x)\" = \"v\"\n", "secret name '$(x)' must be letters"},
      {"[databases.main]\nengine = \"postgresql\"\nname = \"a b$(touch /tmp/x)\"\n",
       "[databases.main] name 'a b$(touch /tmp/x)' must be 1-63 letters"},
      {"[databases.main]\nengine = \"postgresql\"\nuser = \"u;v\"\n", "[databases.main] user 'u;v' must be"},
      {"[databases.main]\nengine = \"postgresql\"\nuser = \"u'v\"\n", "[databases.main] user 'u'v' must be"},
      {"[databases.main]\nengine = \"postgresql\"\nenv_var = \"DB URL\"\n", "env_var 'DB URL' must be"},
      {"[proxy]\n[proxy.headers]\n\"X A;\" = \"1\"\n", "header name 'X A;' must be letters, digits and '-'"},
      {"[proxy]\n[proxy.headers]\nX-A = \"a\\nb\"\n", "header X-A: a value is one line of text"},
      {"[proxy]\n[proxy.headers]\nX-A = \"a\\rb\"\n", "header X-A: a value is one line of text"},
      {"[proxy]\nbot_user_agents = [\"ok\", \"a\\nb\"]\n", "bot_user_agents: 'a\\x0ab' must be"},
      {"[proxy]\nacme_email = \"a b@c\"\n", "acme_email 'a b@c' is not an e-mail address"},
      {"[base]\ntimezone = \"../../../etc/hostname\"\n", "timezone '../../../etc/hostname' is not a zone name"},
      {"[base]\ntimezone = \"Europe/Ber lin\"\n", "timezone 'Europe/Ber lin' is not a zone name"},
      {"[base]\njournald_max_use = \"300M\\nStorage=none\"\n", "journald_max_use '300M\\x0aStorage=none' is not a size"},
      {"[base]\nssh_keys = [\"ssh-ed25519 AAAA a\\nssh-ed25519 BBBB evil\"]\n", "ssh_keys: 'ssh-ed25519 AAAA a\\x0assh-ed25519 BBBB e"},
      {"[app.build]\ndir = \"../\"\n", "[app.build] dir '../' must be a folder inside the project"},
      {"[app.build]\ndir = \"/etc\"\n", "[app.build] dir '/etc' must be a folder inside the project"},
      {"[[health]]\nname = \"h\"\nurl = \"/a\\\"b\"\n", "url '/a\"b' holds characters a URL cannot"},
  };
  for (const auto& c : cases) {
    const auto text = valid_head + c.toml;
    const auto e = only_error(text);
    INFO(e.to_string());
    CHECK(contains(e.message, c.message));
    CHECK(e.where.line > 7);  // at the value, not at the top of the file
  }
  SECTION("good values pass") {
    const auto ok = load_text(valid_head + R"(
[app.run.env]
PEM = """-----BEGIN KEY-----
abc
-----END KEY-----"""
_UNDER = "$(not a command) \"quoted\" 'single' `tick` ; {} ../"
[proxy]
bot_user_agents = ["evil\"bot"]
[proxy.headers]
X-Frame = "v\" always; with $dollar and \\ backslash"
[base]
timezone = "America/Argentina/Buenos_Aires"
journald_max_use = "2G"
)");
    for (const auto& d : ok.diagnostics) INFO(d.to_string());
    CHECK(ok.ok());
  }
}

TEST_CASE("load: a key of 100,000 dotted parts is a located error, not a crash") {
  std::string key = "a";
  for (int i = 0; i < 100000; ++i) key += ".a";
  const auto dotted = only_error(valid_head + key + " = 1\n");
  CHECK(dotted.where.line == 8);
  CHECK(dotted.where.column == 2 + 2 * 128);
  CHECK(contains(dotted.message, "more than 128 dotted parts on one line"));
  const auto header = only_error(valid_head + "[" + key + "]\n");
  CHECK(contains(header.message, "more than 128 dotted parts"));
  // Dots inside strings, comments and multi-line strings are not key parts.
  std::string dots(1000, '.');
  const auto fine = load_text(valid_head + "# " + dots + "\n[app.run.env]\nA = \"" + dots + "\"\nB = '''\n" + dots +
                              "\n'''\nC = \"\"\"\n" + dots + "\\\"\"\"\"\n");
  for (const auto& d : fine.diagnostics) INFO(d.to_string());
  CHECK(fine.ok());
  const auto big = only_error(valid_head + "# " + std::string(5 * 1024 * 1024, 'x') + "\n");
  CHECK(contains(big.message, "at most 4 MiB"));
}

// UTF-8 of one code point below U+10000.
std::string utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

TEST_CASE("load: non-ASCII characters where toml++ would ask whether they are whitespace are located errors") {
  // toml++ 3.3.0 reaches undefined behaviour there (upstream #295; found by tests/fuzz).
  const auto key = only_error(valid_head + "[app.run.env]\nnév = \"1\"\n");
  CHECK(key.where.line == 9);
  CHECK(key.where.column == 2);
  CHECK(contains(key.message, "non-ASCII character outside quotes and comments"));
  const auto after_value = only_error(valid_head + "port = 3000\u3001\n");
  CHECK(after_value.where.line == 8);
  CHECK(after_value.where.column == 12);
  const auto continued = only_error(valid_head + "[app.run.env]\nA = \"\"\"\\\n  \u00a7\"\"\"\n");
  CHECK(continued.where.line == 10);
  CHECK(continued.where.column == 3);
  CHECK(contains(continued.message, "right after a backslash"));
  const auto escaped = only_error(valid_head + "[app.run.env]\nA = \"\\\u00a7\"\n");
  CHECK(escaped.where.line == 9);
  CHECK(escaped.where.column == 7);

  // A broken value toml++ reads up to the next whitespace, a string's quotes included.
  const auto broken = only_error(valid_head + "port = 0*\"\"\"\"\u00a7\"\"\"\n");
  CHECK(broken.where.line == 8);
  CHECK(contains(broken.message, "invalid TOML"));

  // Everywhere TOML allows them, every code point of the BMP is read back as written.
  CHECK(load_text("\xEF\xBB\xBF" + valid_head).ok());
  for (char32_t c = 0x80; c <= 0xFFFD; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;  // surrogates are not characters
    const auto ch = utf8(c);
    const auto text = "# " + ch + "\nA = \"" + ch + "\"\nB = '" + ch + "'\nC = \"\"\"" + ch + "\\\n x" + ch +
                      "\"\"\"\nD = '''\n" + ch + "'''\nE = \"\\\\" + ch + "\"\n";
    const auto tree = parse_toml(text, "bmp.toml");
    if (!tree) FAIL("U+" << std::hex << static_cast<unsigned>(c) << ": " << tree.error().to_string());
    const auto value = [&](const char* k) { return tree->find(k) ? tree->find(k)->string : std::string("(none)"); };
    if (value("A") != ch || value("B") != ch || value("C") != ch + "x" + ch || value("D") != ch || value("E") != "\\" + ch) {
      FAIL("U+" << std::hex << static_cast<unsigned>(c) << " read back differently");
    }
  }
}

TEST_CASE("load: no preset's hook names a port of the app's instances") {
  // Blue/green deploys alternate between the two colors' ports: a hook that names one
  // fails every other deploy. Remote hooks get $BERTH_PORT instead.
  for (const auto& preset : presets()) {
    INFO(preset.name);
    const auto result = load_text(std::string(preset.text));
    REQUIRE(result.ok());
    const auto& m = *result.manifest;
    for (const auto* stage : {&m.hooks.pre_build, &m.hooks.pre_deploy, &m.hooks.post_deploy}) {
      for (const auto& hook : *stage) {
        INFO(hook.command);
        for (int port = m.app.run.port; port < m.app.run.port + 2 * m.app.run.instances; ++port) {
          CHECK_FALSE(contains(hook.command, std::to_string(port)));
        }
      }
    }
  }
}

TEST_CASE("load: a remote hook that names the app's port is a warning pointing at $BERTH_PORT") {
  SECTION("a port of either color") {
    for (const auto* url : {"http://127.0.0.1:3000/healthz", "localhost:3001", "http://[::1]:3001"}) {
      const auto result = load_text(
          "[app]\nname = \"shop\"\n[app.run]\ncommand = \"x\"\ninstances = 1\n[servers.web]\naddress = \"a\"\n"
          "[hooks]\npost_deploy = [{ command = \"curl -fsS " + std::string(url) + "\", remote = true }]\n");
      INFO(url);
      REQUIRE(result.ok());
      REQUIRE(result.diagnostics.size() == 1);
      const auto& d = result.diagnostics[0];
      CHECK(d.severity == Severity::warning);
      CHECK(d.where.line == 9);
      CHECK(contains(d.message, "post_deploy hook names port 300"));
      CHECK(contains(d.message, "between ports 3000 and 3001"));
      CHECK(contains(d.message, "use $BERTH_PORT"));
    }
  }
  SECTION("other ports, local hooks and $BERTH_PORT are fine") {
    for (const auto* hook : {"{ command = \"curl http://127.0.0.1:30001/\", remote = true }",
                             "{ command = \"curl http://127.0.0.1:$BERTH_PORT/\", remote = true }",
                             "\"curl http://127.0.0.1:3000/\""}) {
      INFO(hook);
      const auto result = load_text(valid_head + "[hooks]\npost_deploy = [" + hook + "]\n");
      REQUIRE(result.ok());
      CHECK(result.diagnostics.empty());
    }
  }
}

TEST_CASE("load: [app.run] node takes a NodeSource major, for runtime node only") {
  const std::string head = "[app]\nname = \"shop\"\n[servers.web]\naddress = \"a\"\n[app.run]\ncommand = \"x\"\n";
  SECTION("read") {
    const auto result = load_text(head + "node = \"22\"\n");
    REQUIRE(result.ok());
    CHECK(result.manifest->app.run.node == "22");
    CHECK(load_text(head).manifest->app.run.node.empty());
  }
  SECTION("a major NodeSource does not publish") {
    const auto e = only_error(head + "node = \"18\"\n");
    CHECK(e.message.starts_with("'node' in [app.run] must be one of 20, 22, 24, not '18'"));
    CHECK(e.where.line == 7);
    CHECK(e.where.column == 8);
  }
  SECTION("a number instead of a string") {
    const auto e = only_error(head + "node = 22\n");
    CHECK(contains(e.message, "'node' in [app.run] must be a string"));
    CHECK(e.where.line == 7);
  }
  SECTION("another runtime") {
    const auto e = only_error(head + "runtime = \"python\"\nnode = \"22\"\n");
    CHECK(e.message == "node = \"22\" is for runtime = \"node\", and runtime is \"python\": remove node or set "
                       "runtime = \"node\"");
    CHECK(e.where.line == 8);
    CHECK(e.where.column == 8);
  }
}

namespace {

// A web server and two db servers: db1 the PostgreSQL primary once db2 is a replica.
// Line 15 is the first line appended to it.
const std::string replicated_head = R"(
[app]
name = "shop"
[app.run]
command = "node server.js"
[servers.web]
address = "198.18.0.2"
roles = ["app", "proxy"]
[servers.db1]
address = "198.18.0.3"
roles = ["db"]
[servers.db2]
address = "198.18.0.4"
roles = ["db"]
)";

const std::string main_replicated = "[databases.main]\nengine = \"postgresql\"\nreplicas = [\"db2\"]\n";

}  // namespace

TEST_CASE("load: [databases] replicas name PostgreSQL's streaming replicas and the app's read-only variable") {
  SECTION("db1 the primary, db2 its replica: clean, DATABASE_REPLICA_URL by default") {
    const auto result = load_text(replicated_head + main_replicated);
    for (const auto& d : result.diagnostics) INFO(d.to_string());
    REQUIRE(result.ok());
    CHECK(result.diagnostics.empty());
    const auto& m = *result.manifest;
    REQUIRE(m.databases.size() == 1);
    CHECK(m.databases[0].replicas == std::vector<std::string>{"db2"});
    CHECK(m.databases[0].env_var == "DATABASE_URL");
    CHECK(m.databases[0].replica_env_var == "DATABASE_REPLICA_URL");
    CHECK(m.postgresql_replicas() == std::vector<std::string>{"db2"});
    CHECK(m.is_replica("db2"));
    CHECK_FALSE(m.is_replica("db1"));
    CHECK_FALSE(m.is_replica("web"));
  }
  SECTION("without replicas there is no read-only variable") {
    const auto result = load_text(replicated_head + "[databases.main]\nengine = \"postgresql\"\n");
    REQUIRE(result.ok());
    CHECK(result.manifest->databases[0].replicas.empty());
    CHECK(result.manifest->databases[0].replica_env_var.empty());
    CHECK(result.manifest->postgresql_replicas().empty());
  }
  SECTION("another env_var gets ENV_VAR_REPLICA; replica_env_var names its own") {
    const auto other = load_text(replicated_head + main_replicated + "env_var = \"PG_URL\"\n");
    REQUIRE(other.ok());
    CHECK(other.manifest->databases[0].replica_env_var == "PG_URL_REPLICA");
    const auto named = load_text(replicated_head + main_replicated + "replica_env_var = \"READ_URL\"\n");
    REQUIRE(named.ok());
    CHECK(named.manifest->databases[0].replica_env_var == "READ_URL");
  }
  SECTION("a db server named by a DNS name needs a private_address, which is enough") {
    const auto result = load_text(replicated_head + "private_address = \"10.0.0.4\"\n" + main_replicated);
    REQUIRE(result.ok());
    CHECK(result.manifest->find_server("db2")->internal_address() == "10.0.0.4");
  }
}

TEST_CASE("load: [databases] replicas that cannot stream are located errors") {
  // The one error of the replicated head with [databases.main] naming `list`.
  const auto replicas_error = [](const std::string& list) {
    return only_error(replicated_head + "[databases.main]\nengine = \"postgresql\"\nreplicas = " + list + "\n");
  };
  SECTION("a replica that is not a server, or has no db role") {
    const auto missing = replicas_error("[\"db2\", \"db3\"]");
    CHECK(missing.message == "[databases.main] replica 'db3' is not a server with the db role");
    CHECK(missing.where.line == 17);
    const auto web = replicas_error("[\"db2\", \"web\"]");
    CHECK(web.message == "[databases.main] replica 'web' is not a server with the db role");
    CHECK(web.where.line == 17);
  }
  SECTION("a replica listed twice") {
    const auto e = replicas_error("[\"db2\", \"db2\"]");
    CHECK(e.message == "[databases.main] lists replica db2 twice");
  }
  SECTION("replicas of another engine, at the list") {
    const auto result = load_text(replicated_head + "[databases.main]\nengine = \"mysql\"\nreplicas = [\"db2\"]\n");
    CHECK_FALSE(result.ok());
    const auto errors = errors_of(result);
    const auto it = std::find_if(errors.begin(), errors.end(), [](const Diagnostic& d) {
      return d.message == "[databases.main] replicas: berth replicates PostgreSQL only";
    });
    REQUIRE(it != errors.end());
    CHECK(it->where.line == 17);
    CHECK(it->where.column == 12);
  }
  SECTION("replica_env_var on another engine") {
    const auto e = only_error(replicated_head + "[databases.main]\nengine = \"mysql\"\n"
                                                "replica_env_var = \"READ_URL\"\n");
    CHECK(e.message == "[databases.main] replica_env_var: berth replicates PostgreSQL only");
    CHECK(e.where.line == 17);
  }
  SECTION("every db server a replica: no primary") {
    const auto e = replicas_error("[\"db1\", \"db2\"]");
    CHECK(e.message == "[databases.main] every db server is a replica: leave one out, the primary");
    CHECK(e.where.line == 17);
  }
  SECTION("a third db server that is neither the primary nor a replica") {
    const auto e =
        only_error(replicated_head + "[servers.db3]\naddress = \"198.18.0.5\"\nroles = [\"db\"]\n" + main_replicated);
    CHECK(contains(e.message, "[databases.main] has replicas, and db server db3 is neither the primary (db1) nor "
                              "one of them"));
    CHECK(e.where.line == 20);
  }
  SECTION("a db server whose address is a name, without private_address, at that address") {
    auto head = replicated_head;
    head.replace(head.find("198.18.0.4"), std::string("198.18.0.4").size(), "db2.example.com");
    const auto e = only_error(head + main_replicated);
    CHECK(contains(e.message, "server db2: the PostgreSQL primary and its replicas reach each other by address, "
                              "and 'db2.example.com' is not an IP address; set private_address = \"IP\""));
    CHECK(e.where.line == 13);
    CHECK(e.where.column == 11);
    // The same name without replicas is fine: the app reaches db1 alone.
    CHECK(load_text(head + "[databases.main]\nengine = \"postgresql\"\n").ok());
  }
  SECTION("two PostgreSQL databases naming different replicas") {
    const auto e = only_error(replicated_head + "[servers.db3]\naddress = \"198.18.0.5\"\nroles = [\"db\"]\n" +
                              "[databases.main]\nengine = \"postgresql\"\nreplicas = [\"db2\", \"db3\"]\n"
                              "[databases.reports]\nengine = \"postgresql\"\nenv_var = \"REPORTS_URL\"\n"
                              "replicas = [\"db2\"]\n");
    CHECK(contains(e.message, "[databases.main] and [databases.reports] name different replicas"));
    CHECK(e.where.line == 24);
    // The same ones in both, or none in the second, are fine.
    CHECK(load_text(replicated_head + main_replicated +
                    "[databases.reports]\nengine = \"postgresql\"\nenv_var = \"REPORTS_URL\"\nreplicas = [\"db2\"]\n")
              .ok());
    CHECK(load_text(replicated_head + main_replicated +
                    "[databases.reports]\nengine = \"postgresql\"\nenv_var = \"REPORTS_URL\"\n")
              .ok());
  }
  SECTION("replica_env_var that another database sets as its env_var") {
    // [databases.main] comes first: the other's env_var is the one found set twice.
    const auto later = only_error(replicated_head + main_replicated + "replica_env_var = \"REPORTS_URL\"\n" +
                                  "[databases.reports]\nengine = \"postgresql\"\nenv_var = \"REPORTS_URL\"\n");
    CHECK(contains(later.message, "[databases.main] and [databases.reports] both set REPORTS_URL"));
    // The replicated database comes last: its read-only variable is the one found set twice.
    const auto earlier = only_error(replicated_head + "[databases.analytics]\nengine = \"postgresql\"\n"
                                                      "env_var = \"DATABASE_REPLICA_URL\"\n" +
                                    main_replicated);
    CHECK(earlier.message == "[databases.main] gives the app DATABASE_REPLICA_URL for its replica, which "
                             "[databases.analytics] sets too; set replica_env_var = \"...\"");
    CHECK(earlier.where.line == 18);
  }
  SECTION("replica_env_var that [app.run.env] sets") {
    const auto e = only_error(replicated_head + "[app.run.env]\nDATABASE_REPLICA_URL = \"postgres://elsewhere\"\n" +
                              main_replicated);
    CHECK(e.message == "[databases.main] gives the app DATABASE_REPLICA_URL, which [app.run.env] sets too");
    CHECK(e.where.line == 17);
  }
}

TEST_CASE("load: [databases] replica_env_var that [app.run.secrets] sets is refused") {
  // Else the env file holds the variable twice and the database's URL silently wins.
  const auto e = only_error(replicated_head + "[app.run.secrets]\nDATABASE_REPLICA_URL = \"${secret:READ_URL}\"\n" +
                            main_replicated);
  CHECK(contains(e.message, "DATABASE_REPLICA_URL"));
}

TEST_CASE("load: [databases] replicas of another engine are one error, not one for an unwritten replica_env_var") {
  // The default replica_env_var is PostgreSQL's alone: no second error about a key the
  // manifest does not hold.
  const auto e = only_error(replicated_head + "[databases.main]\nengine = \"mysql\"\nreplicas = [\"db2\"]\n");
  CHECK(e.message == "[databases.main] replicas: berth replicates PostgreSQL only");
}

TEST_CASE("load: a replica's address that is a name is one error however many databases name replicas") {
  // The servers are checked once, not once per PostgreSQL database with replicas.
  auto head = replicated_head;
  head.replace(head.find("198.18.0.4"), std::string("198.18.0.4").size(), "db2.example.com");
  const auto e = only_error(head + main_replicated +
                            "[databases.reports]\nengine = \"postgresql\"\nenv_var = \"REPORTS_URL\"\n"
                            "replicas = [\"db2\"]\n");
  CHECK(e.where.line == 13);
}

TEST_CASE("load: two replicas whose names give one replication slot are refused") {
  // layout::replication_slot maps '-', '.' and '_' to '_' and upper case to lower: db-2
  // and db_2 would share the slot berth_db_2, and the second could not stream.
  const auto e = only_error(replicated_head +
                            "[servers.db-2]\naddress = \"198.18.0.5\"\nroles = [\"db\"]\n"
                            "[servers.db_2]\naddress = \"198.18.0.6\"\nroles = [\"db\"]\n"
                            "[databases.main]\nengine = \"postgresql\"\nreplicas = [\"db2\", \"db-2\", \"db_2\"]\n");
  CHECK(contains(e.message, "berth_db_2"));
}

TEST_CASE("load: [server_checks] replication and replication_slot take their own measures") {
  SECTION("lag and retained WAL") {
    const auto result = load_text(valid_head + R"(
[server_checks]
replication = ["[REPLICA_LAG_BYTES] < 100", "[REPLICA_LAG_SECONDS] < 5"]
replication_slot = ["[SLOT_RETAINED_BYTES] < 1000"]
)");
    for (const auto& d : result.diagnostics) INFO(d.to_string());
    REQUIRE(result.ok());
    REQUIRE(result.manifest->server_checks.replication.size() == 2);
    CHECK(result.manifest->server_checks.replication[0].text == "[REPLICA_LAG_BYTES] < 100");
    CHECK(result.manifest->server_checks.replication_slot[0].text == "[SLOT_RETAINED_BYTES] < 1000");
  }
  SECTION("another measure's placeholder is refused at its place") {
    const auto disk = only_error(valid_head + "[server_checks]\nreplication = [\"[DISK_USED] < 1\"]\n");
    CHECK(contains(disk.message, "unknown placeholder [DISK_USED]"));
    CHECK(disk.where.line == 9);
    const auto slot = only_error(valid_head + "[server_checks]\nreplication_slot = [\"[REPLICA_LAG_BYTES] < 1\"]\n");
    CHECK(contains(slot.message, "unknown placeholder [REPLICA_LAG_BYTES]"));
  }
}

namespace {

// valid_head's web (db, app and proxy by default) and vault, the backup server; what a
// case adds starts at line 11.
const std::string offsite_head = valid_head + R"([servers.vault]
address = "198.18.0.9"
roles = ["backup"]
)";

const std::string offsite_section = "[backups]\nserver = \"vault\"\n";

}  // namespace

TEST_CASE("load: [backups] and backups.verify become data") {
  SECTION("every key") {
    const auto result = load_text(offsite_head + R"([databases.main]
engine = "postgresql"
backups = { verify = { query = "SELECT count(*) FROM users", min = 10, schedule = "weekly" } }
[backups]
server = "vault"
keep_daily = 3
keep_weekly = 0
keep_monthly = 12
check = "Sun 04:00"
on_failure_webhook = "https://hooks.test/backup"
[server_checks]
backup = ["[BACKUP_AGE_HOURS] < 50"]
verification = ["[VERIFY_RESULT] == ok", "[VERIFY_AGE_HOURS] < 200"]
)");
    for (const auto& d : result.diagnostics)
      INFO(d.to_string());
    REQUIRE(result.ok());
    const auto& m = *result.manifest;
    REQUIRE(m.offsite);
    CHECK(m.offsite->server == "vault");
    CHECK(m.offsite->keep_daily == 3);
    CHECK(m.offsite->keep_weekly == 0);
    CHECK(m.offsite->keep_monthly == 12);
    CHECK(m.offsite->check == "Sun 04:00");
    CHECK(m.offsite->on_failure_webhook == "https://hooks.test/backup");
    CHECK(m.offsite->where.line == 14);
    REQUIRE(m.databases.size() == 1);
    REQUIRE(m.databases[0].backups.verify);
    const auto& v = *m.databases[0].backups.verify;
    CHECK(v.query == "SELECT count(*) FROM users");
    CHECK(v.min == 10);
    CHECK(v.schedule == "weekly");
    CHECK(v.where.line == 13);
    REQUIRE(m.server_checks.backup.size() == 1);
    CHECK(m.server_checks.backup[0].text == "[BACKUP_AGE_HOURS] < 50");
    CHECK(m.server_checks.verification.size() == 2);
  }
  SECTION("defaults; a server without roles is never the backup server") {
    const auto result = load_text(offsite_head +
                                  "[databases.main]\nengine = \"mysql\"\n"
                                  "backups = { verify = { query = \"SELECT 1\" } }\n" +
                                  offsite_section);
    for (const auto& d : result.diagnostics)
      INFO(d.to_string());
    REQUIRE(result.ok());
    const auto& m = *result.manifest;
    REQUIRE(m.offsite);
    CHECK(m.offsite->keep_daily == 7);
    CHECK(m.offsite->keep_weekly == 4);
    CHECK(m.offsite->keep_monthly == 6);
    CHECK(m.offsite->check == "weekly");
    CHECK(m.offsite->on_failure_webhook.empty());
    REQUIRE(m.databases[0].backups.verify);
    CHECK(m.databases[0].backups.verify->min == 1);
    CHECK(m.databases[0].backups.verify->schedule == "daily");
    const auto* web = m.find_server("web");
    REQUIRE(web);
    CHECK(web->roles.empty());
    CHECK(web->has_role("db"));
    CHECK_FALSE(web->has_role("backup"));
    const auto* vault = m.find_server("vault");
    REQUIRE(vault);
    CHECK(vault->has_role("backup"));
    CHECK_FALSE(vault->has_role("db"));
    CHECK_FALSE(vault->has_role("app"));
  }
  SECTION("no [backups]: no offsite, no verify") {
    const auto result = load_text(valid_head + "[databases.main]\nengine = \"postgresql\"\n");
    REQUIRE(result.ok());
    CHECK_FALSE(result.manifest->offsite);
    CHECK_FALSE(result.manifest->databases[0].backups.verify);
  }
}

TEST_CASE("load: the backup server is one server of its own, named by [backups]") {
  struct Case {
    std::string toml;
    std::string expected;
    int line;
  };
  const std::vector<Case> cases{
      // The db role together with backup: the copies would die with the database.
      {valid_head + "[servers.vault]\naddress = \"198.18.0.9\"\nroles = [\"backup\", \"db\"]\n" +
           offsite_section,
       "server vault has both the db and the backup role", 10},
      {offsite_head,
       "server vault has the backup role but there is no [backups] server = \"vault\"", 10},
      {valid_head + "[backups]\nserver = \"nope\"\n",
       "[backups] server 'nope' is not a server with the backup role", 9},
      {valid_head + "[backups]\nserver = \"web\"\n", "(add roles = [\"backup\"] to [servers.web])",
       9},
      {offsite_head + "[servers.vault2]\naddress = \"198.18.0.10\"\nroles = [\"backup\"]\n" +
           offsite_section,
       "server vault2 has the backup role, but [backups] server is vault", 13},
  };
  for (const auto& c : cases) {
    const auto e = only_error(c.toml);
    INFO(e.to_string());
    CHECK(contains(e.message, c.expected));
    CHECK(e.where.line == c.line);
  }
  SECTION("the unknown server named is not taken for another one's") {
    const auto e = only_error(valid_head + "[backups]\nserver = \"nope\"\n");
    CHECK_FALSE(contains(e.message, "add roles"));
  }
  SECTION("[backups] without a server: the required key is named") {
    const auto errors = errors_of(load_text(offsite_head + "[backups]\nkeep_daily = 3\n"));
    REQUIRE_FALSE(errors.empty());
    for (const auto& e : errors)
      INFO(e.to_string());
    CHECK(std::any_of(errors.begin(), errors.end(), [](const Diagnostic& e) {
      return e.where.line == 11 && contains(e.message, "server");
    }));
  }
}

TEST_CASE("load: [backups] retention, check and backups.verify are checked, each at its place") {
  struct Case {
    std::string toml;  // appended to offsite_head, from line 11
    std::string expected;
    int line;
  };
  const std::vector<Case> cases{
      {offsite_section + "keep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n",
       "[backups] keeps no copy", 11},
      {offsite_section + "check = \"every sunday\"\n", "[backups] check:", 13},
      {offsite_section + "on_failure_webhook = \"${vault:X}\"\n", "[backups] on_failure_webhook",
       13},
      {offsite_section +
           "[databases.cache]\nengine = \"redis\"\nbackups = { verify = { query = \"x\" } }\n",
       "for Redis the copies are checked by restic check alone", 15},
      {offsite_section +
           "[databases.docs]\nengine = \"mongodb\"\nbackups = { verify = { query = \"x\" } }\n",
       "for MongoDB the copies are checked by restic check alone", 15},
      {offsite_section + "[databases.main]\nengine = \"postgresql\"\nbackups = { enabled = false, "
                         "verify = { query = \"x\" } }\n",
       "[databases.main] backups.verify needs backups.enabled = true", 15},
      {offsite_section +
           "[databases.main]\nengine = \"postgresql\"\nbackups = { verify = { query = \" \" } }\n",
       "[databases.main] backups.verify needs a query", 15},
      {offsite_section + "[databases.main]\nengine = \"postgresql\"\nbackups = { verify = { query "
                         "= \"x\", schedule = \"61 * * * *\" } }\n",
       "verify schedule of [databases.main]: invalid cron schedule '61 * * * *'", 15},
      {offsite_section + "[server_checks]\nbackup = [\"[VERIFY_AGE_HOURS] < 5\"]\n",
       "unknown placeholder [VERIFY_AGE_HOURS]", 14},
      {offsite_section + "[server_checks]\nverification = [\"[DISK_USED] < 5\"]\n",
       "unknown placeholder [DISK_USED]", 14},
  };
  for (const auto& c : cases) {
    const auto e = only_error(offsite_head + c.toml);
    INFO(e.to_string());
    CHECK(contains(e.message, c.expected));
    CHECK(e.where.line == c.line);
  }
  SECTION("verify checks the off-host copies: refused without [backups]") {
    const auto e = only_error(valid_head + "[databases.main]\nengine = \"postgresql\"\n"
                                           "backups = { verify = { query = \"SELECT 1\" } }\n");
    CHECK(contains(e.message,
                   "[databases.main] backups.verify checks the off-host copies: add [backups]"));
    CHECK(e.where.line == 10);
  }
  SECTION("with [backups], the app name has room for the backup user's") {
    const auto name = std::string(26, 'a');
    auto text = offsite_head + offsite_section;
    text.replace(text.find("\"shop\""), 6, "\"" + name + "\"");
    const auto e = only_error(text);
    CHECK(contains(e.message, "[backups] needs an app name of at most 25 characters"));
    CHECK(contains(e.message, "backup-" + name));
    CHECK(e.where.line == 11);
    text.replace(text.find(name), name.size(), std::string(25, 'a'));
    CHECK(load_text(text).ok());
  }
}

TEST_CASE("load: [backups] s3 holds the repository in a bucket instead of a backup server") {
  const std::string s3 = "[backups]\ns3 = { endpoint = \"https://s3.example.com:9000\", bucket = \"shop-backups\", "
                         "access_key_id = \"${env:S3_ID}\", secret_access_key = \"${secret:S3_SECRET}\", "
                         "ca_cert = \"${env:S3_CA}\" }\nkey = \"${secret:BACKUP_KEY}\"\n";
  SECTION("its keys become data") {
    const auto result = load_text(valid_head + s3);
    for (const auto& d : result.diagnostics)
      INFO(d.to_string());
    REQUIRE(result.ok());
    const auto& o = *result.manifest->offsite;
    CHECK(o.server.empty());
    REQUIRE(o.s3);
    CHECK(o.s3->endpoint == "https://s3.example.com:9000");
    CHECK(o.s3->bucket == "shop-backups");
    CHECK(o.s3->secret_access_key == "${secret:S3_SECRET}");
    CHECK(o.s3->ca_cert == "${env:S3_CA}");
    CHECK(o.key == "${secret:BACKUP_KEY}");
  }
  SECTION("neither server nor s3, or both, is refused") {
    CHECK(contains(only_error(valid_head + "[backups]\nkeep_daily = 3\n").message,
                   "[backups] needs one of server = \"NAME\""));
    const auto e = only_error(offsite_head + offsite_section +
                              "s3 = { endpoint = \"https://s3.example.com\", bucket = \"abc\", access_key_id = "
                              "\"a\", secret_access_key = \"b\" }\n");
    CHECK(contains(e.message, "[backups] needs one of server"));
  }
  SECTION("an endpoint with a path, a bad bucket, a backup server left over") {
    auto e = only_error(valid_head + "[backups]\ns3 = { endpoint = \"https://s3.example.com/x\", bucket = \"abc\", "
                                     "access_key_id = \"a\", secret_access_key = \"b\" }\n");
    CHECK(contains(e.message, "must be http(s)://HOST[:PORT], with no path"));
    e = only_error(valid_head + "[backups]\ns3 = { endpoint = \"https://s3.example.com\", bucket = \"A_B\", "
                                "access_key_id = \"a\", secret_access_key = \"b\" }\n");
    CHECK(contains(e.message, "[backups] s3 bucket 'A_B' must be 3-63 lowercase letters"));
    e = only_error(offsite_head + s3);
    CHECK(contains(e.message, "server vault has the backup role, but [backups] keeps the repository in S3"));
  }
}

TEST_CASE("load: [backups] sftp names an SSH server berth does not manage, each word checked") {
  const std::string ok = "[backups]\nsftp = { address = \"box.example.net\", port = 23, user = \"u123\", path = "
                         "\"berth/shop\", key = \"${secret:BACKUP_SSH_KEY}\", host_key = \"ssh-ed25519 AAAAC3Nza "
                         "root@box\" }\n";
  SECTION("as data") {
    const auto result = load_text(valid_head + ok);
    for (const auto& d : result.diagnostics)
      INFO(d.to_string());
    REQUIRE(result.ok());
    const auto& t = *result.manifest->offsite->sftp;
    CHECK(t.address == "box.example.net");
    CHECK(t.port == 23);
    CHECK(t.path == "berth/shop");
    CHECK(t.host_key == "ssh-ed25519 AAAAC3Nza root@box");
  }
  SECTION("a quote in the path, a host key that is not one") {
    auto text = valid_head + ok;
    text.replace(text.find("berth/shop"), 10, "it's");
    CHECK(contains(only_error(text).message, "[backups] sftp path 'it's' must be"));
    text = valid_head + ok;
    text.replace(text.find("ssh-ed25519 AAAAC3Nza root@box"), 30, "AAAAC3Nza");
    CHECK(contains(only_error(text).message, "[backups] sftp host_key must be the server's public host key"));
  }
}
