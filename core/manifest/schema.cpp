#include <core/manifest/manifest.hpp>
#include <core/manifest/schema.hpp>

#include <nlohmann/json.hpp>

#include <utility>

namespace berth::manifest {

const Schema* Schema::property(std::string_view key) const {
  for (const auto& p : properties) {
    if (p.name == key) return &p;
  }
  return nullptr;
}

namespace {

using Type = Schema::Type;

Schema str(std::string description, std::vector<std::string> allowed = {}) {
  Schema s;
  s.type = Type::string;
  s.description = std::move(description);
  s.allowed = std::move(allowed);
  return s;
}

Schema integer(std::string description, std::optional<std::int64_t> minimum = {},
               std::optional<std::int64_t> maximum = {}) {
  Schema s;
  s.type = Type::integer;
  s.description = std::move(description);
  s.minimum = minimum;
  s.maximum = maximum;
  return s;
}

Schema boolean(std::string description) {
  Schema s;
  s.type = Type::boolean;
  s.description = std::move(description);
  return s;
}

Schema array(std::string description, Schema item) {
  Schema s;
  s.type = Type::array;
  s.description = std::move(description);
  s.element.push_back(std::move(item));
  return s;
}

Schema table(std::string description, std::vector<Schema> properties) {
  Schema s;
  s.type = Type::table;
  s.description = std::move(description);
  s.properties = std::move(properties);
  return s;
}

// A table whose keys are names chosen by the user, each value of shape `value`.
Schema map(std::string description, Schema value) {
  Schema s;
  s.type = Type::table;
  s.description = std::move(description);
  s.element.push_back(std::move(value));
  return s;
}

Schema any_of(std::string description, std::vector<Schema> alternatives) {
  Schema s;
  s.type = Type::any_of;
  s.description = std::move(description);
  s.alternatives = std::move(alternatives);
  return s;
}

Schema key(std::string name, Schema s) {
  s.name = std::move(name);
  return s;
}

Schema required(std::string name, Schema s) {
  s.name = std::move(name);
  s.required = true;
  return s;
}

Schema port(std::string description) { return integer(std::move(description), 1, 65535); }

Schema hook_list(std::string description) {
  return array(std::move(description),
               any_of("A command, or a table saying where it runs",
                      {str("A command run locally, in the manifest's folder"),
                       table("A hook command",
                             {required("command", str("The command (POSIX sh)")),
                              key("remote", boolean("Run on the servers instead of locally "
                                                    "(default false)")),
                              key("role", str("With remote: the servers of this role "
                                              "(default app)",
                                              {"db", "app", "proxy"}))})}));
}

Schema build_schema() {
  auto app = table(
      "The application: how it is built and run",
      {required("name", str("The app's name: lowercase letters, digits and '-', starting "
                            "with a letter; names the service, the unix user and the "
                            "default database")),
       key("keep_releases", integer("Releases kept on each server for rollback (default 5)",
                                    1, 100)),
       key("build",
           table("How a release is built locally before it is uploaded",
                 {key("command", str("Run locally in `dir` before packing (e.g. npm ci && "
                                     "npm run build); empty: none")),
                  key("dir", str("The folder packed into the release, relative to the "
                                 "manifest (default .)")),
                  key("ignore", array("Glob patterns left out of the release tarball",
                                      str("A glob pattern, e.g. node_modules/.cache")))})),
       required(
           "run",
           table("How the app runs on the servers of role app",
                 {key("runtime", str("What runs the app (default node)",
                                     {"node", "python", "binary"})),
                  required("command", str("The command started in the release folder, "
                                          "e.g. node server.js")),
                  key("port", port("The port of the first instance; instance i listens "
                                   "on port + i (default 3000); given as PORT")),
                  key("instances", integer("Instances per server (default 1)", 1, 64)),
                  key("env", map("Environment variables of the app; values may hold "
                                 "${env:NAME} and ${secret:NAME}",
                                 str("The value"))),
                  key("secrets",
                      map("Secret environment variables of the app",
                          any_of("A reference or a generated secret",
                                 {str("${secret:NAME} or ${env:NAME}"),
                                  table("A secret generated once on the server and kept",
                                        {required("generate", boolean("Must be true")),
                                         key("length", integer("Random bytes (default 32)",
                                                               16, 1024))})}))),
                  key("migrate", str("Run before the new release starts: a preset "
                                     "(prisma, sequelize, drizzle, knex, alembic) or a "
                                     "command")),
                  key("node", str("runtime node: install this Node.js major from NodeSource's apt "
                                  "repository instead of Debian's nodejs (18 on Debian 12, 20 on "
                                  "13), e.g. 22",
                                  nodesource_majors())),
                  key("drain", str("How long at most instances leaving service keep answering "
                                   "the requests in flight after nginx stopped sending them new "
                                   "ones: they stop as soon as no connection to them is left "
                                   "(default 3s, at most 5m)")),
                  key("stop_timeout", str("How long a stopping instance has to exit after "
                                          "SIGTERM before it is killed (default 30s, at most "
                                          "15m)"))}))});

  auto server = table(
      "A server berth manages",
      {required("address", str("IP address or DNS name (or a Host alias of ~/.ssh/config)")),
       key("port", port("SSH port (default 22)")),
       key("user", str("SSH user (default root)")),
       key("become", boolean("Use sudo -n when the user is not root (default true)")),
       key("roles", array("What runs here (default: db, app and proxy; backup only when listed)",
                          str("A role", {"db", "app", "proxy", "backup"}))),
       key("identity_file", str("Private key file (default: the SSH agent, then ~/.ssh/id_*)")),
       key("known_hosts", str("A known_hosts file for this server (default ~/.ssh/known_hosts)")),
       key("proxy_jump", str("Reach the server through this bastion: [user@]host[:port]")),
       key("private_address", str("The IP address the other servers reach this one on (proxy to "
                                  "app, app to database), e.g. on the provider's private network "
                                  "(default: address)"))});

  auto deploy = table(
      "How a deploy goes through several app servers",
      {key("batch", any_of("App servers switched at a time, each batch gated through the proxies "
                           "before the next starts (default: all at once)",
                           {integer("A number of servers", 1), str("A share of them, like \"25%\"")})),
       key("max_fail", integer("App servers whose batch may fail (each goes back to the previous "
                               "release alone) before the deploy stops and puts the whole fleet "
                               "back (default 0)",
                               0))});

  auto database = table(
      "A database server and one database on it",
      {required("engine", str("The database engine", {"postgresql", "mysql", "redis", "mongodb"})),
       key("name", str("The database's name (default: the app's name)")),
       key("user", str("The role or user the app connects as (default: the app's name)")),
       key("version", str("Engine version (default: the distribution's)")),
       key("env_var", str("The app's environment variable holding the connection URL "
                          "(default DATABASE_URL, REDIS_URL or MONGODB_URL)")),
       key("replicas", array("postgresql: db servers that stream this PostgreSQL server from the primary "
                             "(the db server not listed)",
                             str("A server name"))),
       key("replica_env_var", str("The app's environment variable holding a read-only URL to the first "
                                  "replica (default DATABASE_REPLICA_URL)")),
       key("backups",
           table("Scheduled dumps: into the [backups] repository when there is one, else kept on the server",
                 {key("enabled", boolean("Take backups (default true)")),
                  key("schedule", str("When: systemd OnCalendar or 5-field cron (default daily)")),
                  key("keep_days", integer("Days local dumps are kept (default 7; without [backups])", 1, 3650)),
                  key("verify",
                      table("postgresql, mysql: restore the newest off-host copy into a scratch database and "
                            "run a query",
                            {required("query", str("SQL giving one number, e.g. SELECT count(*) FROM users")),
                             key("min", integer("The least number the query must give (default 1)")),
                             key("schedule", str("When: systemd OnCalendar or 5-field cron (default daily)"))}))}))});

  auto offsite = table(
      "The off-host restic repository every database's backups go to",
      {key("server", str("A server with roles = [\"backup\"]: the repository is there, reached over SFTP")),
       key("s3", table("Or an S3-compatible bucket holds the repository",
                       {required("endpoint", str("http(s)://HOST[:PORT] of the S3 API")),
                        required("bucket", str("The bucket (the repository is APP/ in it)")),
                        required("access_key_id", str("The access key's id, e.g. ${secret:S3_KEY_ID}")),
                        required("secret_access_key", str("The secret key, e.g. ${secret:S3_SECRET}")),
                        key("region", str("The bucket's region, when the provider needs it")),
                        key("ca_cert", str("https: the PEM CA certificate that signs the endpoint's, when "
                                           "not a public CA, e.g. ${env:S3_CA}"))})),
       key("sftp", table("Or an SSH server berth does not manage (a storage box) holds it, over SFTP",
                         {required("address", str("Its host name or IP address")),
                          key("port", port("Its SSH port (default 22)")),
                          required("user", str("The login")),
                          required("path", str("The repository's folder (relative: from the login's)")),
                          required("key", str("The login's private key, e.g. ${secret:BACKUP_SSH_KEY}")),
                          required("host_key", str("The server's public host key, TYPE BASE64 (ssh-keyscan "
                                                   "prints it)"))})),
       key("key", str("The repository's password, e.g. ${secret:BACKUP_KEY} (default: generated once)")),
       key("keep_daily", integer("Daily copies kept per database and server (default 7)", 0, 10000)),
       key("keep_weekly", integer("Weekly copies kept (default 4)", 0, 10000)),
       key("keep_monthly", integer("Monthly copies kept (default 6)", 0, 10000)),
       key("check", str("When restic checks and prunes the repository (default weekly)")),
       key("on_failure_webhook", str("URL POSTed to when a backup, verification or check fails"))});

  auto proxy = table(
      "The reverse proxy in front of the app",
      {key("kind", str("The proxy (default nginx)", {"nginx"})),
       key("domains", array("Domain names served", str("A domain name, e.g. example.com"))),
       key("tls",
           any_of("Certificates: letsencrypt, self-signed or off (default self-signed), or "
                  "your own",
                  {str("letsencrypt, self-signed or off", {"letsencrypt", "self-signed", "off"}),
                   table("Your own certificate (wildcards included)",
                         {required("cert", str("The PEM certificate chain, usually "
                                               "${secret:NAME} or ${env:NAME}")),
                          required("key", str("The PEM private key: ${secret:NAME} or "
                                              "${env:NAME}, never written in the manifest"))})})),
       key("http2", boolean("Serve HTTP/2 as well as HTTP/1.1 over TLS (default false)")),
       key("acme_email", str("Contact e-mail for Let's Encrypt (required with letsencrypt)")),
       key("acme_directory", str("ACME directory URL (default: Let's Encrypt production)")),
       key("rate_limit",
           table("Per-client request limits",
                 {key("requests_per_second", integer("Requests per second per IP (default 10)",
                                                     1, 100000)),
                  key("burst", integer("Requests allowed above the rate (default 20)", 0, 100000)),
                  key("connections", integer("Concurrent connections per IP; 0: no limit",
                                             0, 100000))})),
       key("block_bots", boolean("Refuse known bad bots by User-Agent (default true)")),
       key("bot_user_agents", array("User-Agent substrings refused besides the built-in list",
                                    str("A User-Agent substring"))),
       key("headers", map("Response headers added by the proxy", str("The header's value"))),
       key("max_body", str("Largest request body, nginx size (default 10m)")),
       key("read_timeout", str("How long a proxied connection may stay idle (WebSockets, "
                               "server-sent events) before nginx closes it (default 1h)")),
       key("trusted_proxies",
           array("The CDN or load balancers in front of nginx, whose client-address header is "
                 "believed: rate limits, the fail2ban jail and the access log then act on the "
                 "client's address",
                 str("\"cloudflare\" (its published ranges, shipped with berth) or an address "
                     "or CIDR"))),
       key("real_ip_header", str("The header carrying the client's address from a trusted "
                                 "proxy (default CF-Connecting-IP with cloudflare alone, else "
                                 "X-Forwarded-For)")),
       key("access",
           array("Who may reach the site or a path: addresses, basic-auth users, or both",
                 table("An access rule",
                       {key("path", str("A path prefix, e.g. /admin (default /: the whole "
                                        "site)")),
                        key("allow", array("Addresses allowed; others get 403 (default: any)",
                                           str("An address or CIDR"))),
                        key("users", map("Basic-auth users: name = password, a ${secret:NAME} "
                                         "reference",
                                         str("The password")))}))),
       key("limits",
           array("Per-client request limits on paths, on top of rate_limit",
                 table("A path's limit",
                       {required("path", str("A path prefix, e.g. /api/login")),
                        required("requests_per_minute",
                                 integer("Requests per minute per client address", 1, 100000)),
                        key("burst", integer("Requests allowed at once above the rate "
                                             "(default: requests_per_minute)",
                                             0, 100000))})))});

  auto job = table(
      "A scheduled job (a systemd timer)",
      {required("name", str("The job's name: lowercase letters, digits, '-' and '_'")),
       required("schedule", str("When: systemd OnCalendar (daily, Mon *-*-* 08:00:00) or "
                                "5-field cron (30 8 * * 1-5)")),
       required("command", str("The command, run in the current release's folder with the "
                               "app's environment")),
       key("run_on", str("one: on the first server of the role; all: on each (default one)",
                         {"one", "all"})),
       key("role", str("The servers it runs on (default app)", {"db", "app", "proxy"})),
       key("timeout", str("Longest run, systemd time span (default 1h)")),
       key("overlap", str("forbid: skip a run while the last one runs (default forbid)",
                          {"forbid", "allow"})),
       key("on_failure_webhook", str("URL POSTed to when a run fails"))});

  auto health = table(
      "A health check, Gatus style",
      {required("name", str("The check's name")),
       key("kind", str("http or tcp (default http)", {"http", "tcp"})),
       key("url", str("http: a URL, or a path like /healthz for the app on each app "
                      "server; tcp: host:port")),
       key("conditions", array("Conditions that must all hold",
                               str("[PLACEHOLDER] OP value, e.g. [STATUS] == 200"))),
       key("interval", str("Time between rounds of the deploy gate (default 5s)")),
       key("timeout", str("Time allowed for one check (default 10s)")),
       key("method", str("http: the request method, e.g. HEAD (default GET)")),
       key("headers", map("http: extra request headers, by name",
                          str("A header value, e.g. Host = \"app.example.com\""))),
       key("connect_to", array("http: where to connect instead of what the URL names, "
                               "curl --connect-to style",
                               str("HOST:PORT:ADDRESS:PORT, e.g. "
                                   "app.example.com:443:198.18.0.2:443"))),
       key("ca_file", str("https: a PEM CA bundle to verify the server with, relative to "
                          "the manifest's folder (default: the system's CAs)")),
       key("insecure", boolean("https: skip certificate verification (default false)")),
       key("connect_timeout", str("Time allowed to connect (default: the smaller of "
                                  "timeout and 5s)")),
       key("success_threshold", integer("Passes in a row each check needs in the deploy "
                                        "gate (default 1)",
                                        1))});

  auto condition_list = [](std::string what) {
    return array(std::move(what), str("[PLACEHOLDER] OP value"));
  };
  auto server_checks = table(
      "The conditions of the built-in checks that measure each server (berth health); each "
      "list replaces the default",
      {key("disk", condition_list("Each disk: [DISK_USED] (percent), default [DISK_USED] < 90")),
       key("memory", condition_list("[MEMORY_AVAILABLE] (percent), default [MEMORY_AVAILABLE] > 10")),
       key("load", condition_list("[LOAD_PER_CORE] (15-minute load per core), default "
                                  "[LOAD_PER_CORE] < 8")),
       key("certificate", condition_list("Each certificate nginx serves: [CERTIFICATE_EXPIRATION], "
                                         "default [CERTIFICATE_EXPIRATION] > 240h")),
       key("replication", condition_list("Each PostgreSQL replica: [REPLICA_LAG_BYTES], [REPLICA_LAG_SECONDS], "
                                         "default [REPLICA_LAG_BYTES] < 16777216 and [REPLICA_LAG_SECONDS] < 30")),
       key("replication_slot", condition_list("Each replication slot on the primary: [SLOT_RETAINED_BYTES] (WAL "
                                              "it keeps), default [SLOT_RETAINED_BYTES] < 1073741824")),
       key("backup", condition_list("Each database's newest off-host snapshot from each db server: "
                                    "[BACKUP_AGE_HOURS], default by backups.schedule (daily: < 26)")),
       key("verification", condition_list("Each database's last verification on the primary: [VERIFY_RESULT] "
                                          "(ok, failed, never), [VERIFY_AGE_HOURS], default [VERIFY_RESULT] == ok "
                                          "and [VERIFY_AGE_HOURS] < 26 (by backups.verify.schedule)"))});

  auto hooks = table("Commands run around a deploy",
                     {key("pre_build", hook_list("Before the build, locally")),
                      key("pre_deploy", hook_list("Before the new release starts")),
                      key("post_deploy", hook_list("After the new release is live"))});

  auto base = table(
      "The hardened server underneath everything",
      {key("harden", boolean("false: leave users, sshd, the firewall, fail2ban, upgrades, time "
                             "zone, swap and journald to your own tooling (default true)")),
       key("deploy_user", str("The unix user berth deploys as (default deploy)")),
       key("ssh_keys", array("Public keys allowed to log in as the deploy user",
                             str("A public key line, e.g. ssh-ed25519 AAAA... me@laptop"))),
       key("timezone", str("The servers' time zone (default UTC)")),
       key("swap", str("auto, off, or a size like 1G (default auto)")),
       key("open_ports", array("Ports opened to everyone in the firewall besides the SSH port, and 80 "
                                                "and 443 on proxy hosts",
                               port("A TCP port"))),
       key("journald_max_use", str("journald's disk cap (default 500M)"))});

  auto secret = table("Where ${secret:NAME} comes from, when not from the environment or "
                      ".berth/secrets",
                      {key("command", str("A command printing the secret, e.g. pass show x")),
                       key("env", str("An environment variable holding it"))});

  return table("berth.toml: the manifest of one app and its servers",
               {required("app", std::move(app)),
                required("servers", map("The servers, by name", std::move(server))),
                key("databases", map("The databases, by name", std::move(database))),
                key("backups", std::move(offsite)),
                key("proxy", std::move(proxy)),
                key("jobs", array("Scheduled jobs", std::move(job))),
                key("health", array("Health checks", std::move(health))),
                key("server_checks", std::move(server_checks)),
                key("hooks", std::move(hooks)),
                key("deploy", std::move(deploy)),
                key("base", std::move(base)),
                key("secrets", map("Secret sources, by secret name", std::move(secret)))});
}

nlohmann::json to_json(const Schema& s) {
  nlohmann::json j = nlohmann::json::object();
  if (!s.description.empty()) j["description"] = s.description;
  switch (s.type) {
    case Type::string:
      j["type"] = "string";
      if (!s.allowed.empty()) j["enum"] = s.allowed;
      break;
    case Type::integer:
      j["type"] = "integer";
      if (s.minimum) j["minimum"] = *s.minimum;
      if (s.maximum) j["maximum"] = *s.maximum;
      break;
    case Type::boolean:
      j["type"] = "boolean";
      break;
    case Type::array:
      j["type"] = "array";
      j["items"] = to_json(s.element.front());
      break;
    case Type::table: {
      j["type"] = "object";
      if (s.is_map()) {
        j["additionalProperties"] = to_json(s.element.front());
        break;
      }
      auto properties = nlohmann::json::object();
      auto required_keys = nlohmann::json::array();
      for (const auto& p : s.properties) {
        properties[p.name] = to_json(p);
        if (p.required) required_keys.push_back(p.name);
      }
      j["properties"] = std::move(properties);
      if (!required_keys.empty()) j["required"] = std::move(required_keys);
      j["additionalProperties"] = false;
      break;
    }
    case Type::any_of: {
      auto alternatives = nlohmann::json::array();
      for (const auto& a : s.alternatives) alternatives.push_back(to_json(a));
      j["anyOf"] = std::move(alternatives);
      break;
    }
  }
  return j;
}

}  // namespace

const Schema& manifest_schema() {
  static const Schema schema = build_schema();
  return schema;
}

nlohmann::json to_json_schema(const Schema& schema) {
  auto j = to_json(schema);
  j["$schema"] = "http://json-schema.org/draft-07/schema#";
  j["title"] = "berth.toml";
  return j;
}

}  // namespace berth::manifest
