#pragma once

// The manifest (berth.toml) as data. Parsing and validation live in
// core/manifest/load.hpp; everything else in berth reads these structs and never
// the TOML. Values that may hold references (`${env:NAME}`, `${secret:NAME}`) are
// kept as written here and resolved by core/manifest/values.hpp when a command
// needs them, so that `berth check` works offline without any secret.

#include <chrono>
#include <filesystem>
#include <map>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::manifest {

// Where something was written: file:line:column (1-based; 0 when unknown).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
};

// [servers.NAME]: one host berth manages.
struct Server {
  std::string name;                  // the table key
  std::string address;               // IP or DNS name, or a Host alias of ~/.ssh/config
  int port = 22;
  std::string user = "root";
  bool become = true;                // run through `sudo -n` when user is not root
  std::vector<std::string> roles;    // db, app, proxy, backup (empty in TOML means db, app and proxy)
  std::string identity_file;         // optional
  std::string known_hosts;           // optional: a known_hosts file for this host
  std::string proxy_jump;            // optional: [user@]host[:port]
  std::string private_address;       // optional: the IP the other servers reach it on
  Location where;

  bool has_role(std::string_view role) const;
  // What the other servers reach this one on (proxy to app, app to database, the
  // firewall's openings between them): private_address, else address.
  const std::string& internal_address() const;
};

// [app.build]
struct Build {
  std::string command;               // run locally before packing; empty: none
  std::string dir = ".";             // relative to the manifest's folder
  std::vector<std::string> ignore;   // glob patterns left out of the release tarball
};

// A secret the app needs: from a source (`${secret:NAME}`, `${env:NAME}`), or
// generated on the server once and kept (`{ generate = true }`).
struct SecretSpec {
  std::string name;                  // the environment variable it becomes
  std::string value;                 // as written when not generated
  bool generate = false;
  int length = 32;                   // bytes of randomness when generated
  Location where;
};

// [app.run]
struct Run {
  std::string runtime = "node";      // node | python | binary
  std::string command;               // started in the release folder
  int port = 3000;                   // first instance's port; instance i uses port + i
  int instances = 1;
  std::map<std::string, std::string> env;
  std::vector<SecretSpec> secrets;
  std::string migrate;               // a preset (prisma, sequelize, drizzle, knex, alembic) or a command
  std::string node;                  // runtime node: a NodeSource major ("22"); empty: Debian's nodejs
  // Instances leaving service: nginx stops sending them requests, `drain` passes for
  // those in flight, then each gets SIGTERM and at most `stop_timeout` to exit.
  std::chrono::milliseconds drain{3000};
  std::chrono::milliseconds stop_timeout{30000};
};

// The Node.js majors [app.run] node takes: those NodeSource's apt repository publishes
// (https://deb.nodesource.com/node_MAJOR.x), oldest first.
const std::vector<std::string>& nodesource_majors();

// [app]
struct App {
  std::string name;
  Build build;
  Run run;
  int keep_releases = 5;
  Location where;
};

enum class Engine { postgresql, mysql, redis, mongodb };

// [databases.KEY] backups.verify: on `schedule`, the newest off-host copy is restored into
// a scratch database where `query` must give a number of at least `min`.
struct Verify {
  std::string query;                 // e.g. SELECT count(*) FROM users
  std::int64_t min = 1;
  std::string schedule = "daily";    // as written (OnCalendar or 5-field cron)
  Location where;
};

struct Backups {
  bool enabled = true;
  std::string schedule = "daily";    // systemd OnCalendar
  int keep_days = 7;                 // local dumps (without [backups])
  std::optional<Verify> verify;      // postgresql and mysql, with [backups]
};

// [databases.KEY]
struct Database {
  std::string key;                   // the table key
  Engine engine = Engine::postgresql;
  std::string name;                  // database name (defaults to the app name)
  std::string user;                  // role / user (defaults to the app name)
  std::string version;               // optional engine version
  std::string env_var;               // DATABASE_URL, REDIS_URL, ... (defaulted by engine)
  // postgresql: the db servers that stream the cluster from its primary (the one db
  // server not listed), and the app's variable for a read-only URL to the first of them.
  std::vector<std::string> replicas;
  std::string replica_env_var;       // DATABASE_REPLICA_URL unless the manifest names one
  Backups backups;
  Location where;
};

// [backups]: the off-host restic repository every database's backups go to
// (docs/databases.md, "Off-host backups").
// [backups] s3: an S3-compatible bucket as the repository (restic's s3 backend).
struct S3Target {
  std::string endpoint;              // http(s)://host[:port] as written
  std::string bucket;
  std::string access_key_id;         // values that may hold references (${secret:...})
  std::string secret_access_key;
  std::string region;                // optional
  std::string ca_cert;               // optional: the PEM CA that signs an https endpoint's certificate
  Location where;
};

// [backups] sftp: any SSH server with SFTP that berth does not manage (a storage box).
struct SftpTarget {
  std::string address;               // host name or IP, as the db servers reach it
  int port = 22;
  std::string user;
  std::string path;                  // the repository's folder there (relative: from the login's)
  std::string key;                   // the private key, a value that may hold references
  std::string host_key;              // the server's public host key: "TYPE BASE64"
  Location where;
};

struct Offsite {
  std::string server;                // a [servers.NAME] with the backup role: restic over SFTP
  std::optional<S3Target> s3;        // or an S3-compatible bucket
  std::optional<SftpTarget> sftp;    // or another SSH server (one of the three is set)
  // The repository's password as written (a reference), when the operator gives it; empty:
  // a generated secret. Needed to restore on a fresh db server when no backup server keeps it.
  std::string key;
  int keep_daily = 7;                // restic forget --keep-daily, per database and server
  int keep_weekly = 4;
  int keep_monthly = 6;
  std::string check = "weekly";      // restic check and prune (OnCalendar or 5-field cron)
  std::string on_failure_webhook;    // optional URL a failed backup, verification or check is POSTed to
  Location where;
};

// own: the certificate and key the manifest gives (Proxy::certificate).
enum class Tls { off, self_signed, letsencrypt, own };

struct RateLimit {
  int requests_per_second = 10;
  int burst = 20;
  int connections = 0;               // per-IP concurrent connections; 0: no limit
};

// [proxy] tls = { cert = "...", key = "..." }: the operator's own certificate (a PEM
// chain) and private key, as written (references resolved when setup writes them).
struct OwnCertificate {
  std::string cert;
  std::string key;
  Location where;
};

// [[proxy.access]]: who may reach `path` (a prefix; "/" is the whole site): addresses
// in `allow` (CIDRs; empty: any), and, when `users` is not empty, with one of these
// basic-auth users (name -> password, a reference).
struct Access {
  std::string path = "/";
  std::vector<std::string> allow;
  std::map<std::string, std::string> users;
  Location where;
};

// [[proxy.limits]]: a per-client request limit on one path prefix, on top of the
// site-wide rate_limit.
struct PathLimit {
  std::string path;
  int requests_per_minute = 0;
  int burst = -1;                    // -1: requests_per_minute
  Location where;
};

// [proxy]
struct Proxy {
  std::string kind = "nginx";
  std::vector<std::string> domains;
  Tls tls = Tls::self_signed;
  std::string acme_email;
  std::string acme_directory;        // empty: Let's Encrypt production
  std::optional<RateLimit> rate_limit;
  bool block_bots = true;
  std::vector<std::string> bot_user_agents;  // added to the built-in list
  std::map<std::string, std::string> headers;
  std::string max_body = "10m";
  std::optional<OwnCertificate> certificate;   // with Tls::own
  std::vector<std::string> trusted_proxies;    // "cloudflare" or CIDRs
  std::string real_ip_header;                  // empty: CF-Connecting-IP for cloudflare alone, else X-Forwarded-For
  bool http2 = false;
  std::string read_timeout = "1h";             // idle time before nginx closes a proxied connection (WebSockets, SSE)
  std::vector<Access> access;
  std::vector<PathLimit> limits;
  Location where;
};

enum class RunOn { one, all };
enum class Overlap { forbid, allow };

// [[jobs]]
struct Job {
  std::string name;
  std::string schedule;              // as written (OnCalendar or 5-field cron)
  std::string on_calendar;           // the systemd OnCalendar form of schedule
  std::string command;
  RunOn run_on = RunOn::one;
  std::string role = "app";          // the servers it runs on: db | app | proxy
  std::string timeout = "1h";        // systemd time span
  Overlap overlap = Overlap::forbid;
  std::string on_failure_webhook;    // optional URL
  Location where;
};

// One condition of a health check, as written, with its place in the manifest.
struct ConditionText {
  std::string text;                  // e.g. "[STATUS] == 200"
  Location where;
};

// [[health]]
struct HealthCheck {
  std::string name;
  std::string kind = "http";         // http | tcp
  std::string url;                   // http(s)://... or host:port for tcp
  std::vector<ConditionText> conditions;
  std::string interval = "5s";
  std::string timeout = "10s";
  Location where;
  // Added for `berth health` (issue 9); read from the same [[health]] table.
  std::string method = "GET";                  // http: GET, HEAD, POST, ...
  std::map<std::string, std::string> headers;  // http: extra request headers
  std::vector<std::string> connect_to;         // curl --connect-to form: "HOST:PORT:ADDR:PORT"
  std::string ca_file;                         // https: PEM CA bundle, relative to the manifest's folder
  bool insecure = false;                       // https: skip certificate verification (explicit only)
  std::string connect_timeout;                 // a duration; empty: the smaller of timeout and 5s
  int success_threshold = 1;                   // deploy gate: consecutive passes needed
};

// [server_checks]: the conditions of the built-in checks that measure a host (`berth
// health`, docs/health.md). An empty list keeps the built-in condition.
struct ServerChecks {
  std::vector<ConditionText> disk;          // [DISK_USED] < 90
  std::vector<ConditionText> memory;        // [MEMORY_AVAILABLE] > 10
  std::vector<ConditionText> load;          // [LOAD_PER_CORE] < 8
  std::vector<ConditionText> certificate;   // [CERTIFICATE_EXPIRATION] > 240h
  std::vector<ConditionText> replication;   // [REPLICA_LAG_BYTES] < 16777216, [REPLICA_LAG_SECONDS] < 30
  std::vector<ConditionText> replication_slot;  // [SLOT_RETAINED_BYTES] < 1073741824
  std::vector<ConditionText> backup;        // [BACKUP_AGE_HOURS] < 26 (by backups.schedule)
  std::vector<ConditionText> verification;  // [VERIFY_RESULT] == ok, [VERIFY_AGE_HOURS] < 26
};

// One hook command: local (on the operator's machine) or remote (on hosts of a role).
struct Hook {
  std::string command;
  bool remote = false;
  std::string role = "app";
  Location where;
};

// [hooks]
struct Hooks {
  std::vector<Hook> pre_build;
  std::vector<Hook> pre_deploy;
  std::vector<Hook> post_deploy;
};

// [deploy]: how a deploy goes through several app servers.
struct DeployPolicy {
  int batch = 0;                     // app servers per batch; 0: all at once
  int batch_percent = 0;             // or this share of them (1-100), rounded up
  // App servers whose batch may fail before the deploy stops: each of them goes back
  // to the previous release alone and the deploy goes on (it still exits 1).
  int max_fail = 0;
  Location where;

  // How many of `app_servers` servers go in one batch (at least 1).
  int batch_size(int app_servers) const;
};

// [base]: the hardened server underneath everything.
struct Base {
  bool harden = true;                       // false: only berth's own folders and tools
  std::string deploy_user = "deploy";
  std::vector<std::string> ssh_keys;        // public keys allowed for the deploy user
  std::string timezone = "UTC";
  std::string swap = "auto";                // auto | off | a size like "1G"
  std::vector<int> open_ports;              // opened in addition to 22, 80, 443
  std::string journald_max_use = "500M";
};

// [secrets.NAME]: where `${secret:NAME}` comes from when not from the environment or
// .berth/secrets.
struct SecretSource {
  std::string name;
  std::string command;                      // e.g. "pass show berth/jwt"
  std::string env;                          // an environment variable
  Location where;
};

// The whole manifest.
struct Manifest {
  std::filesystem::path path;               // the base file that was loaded
  std::filesystem::path dir;                // its folder: relative paths start here
  App app;
  std::vector<Server> servers;              // in the order of their names
  std::vector<Database> databases;
  std::optional<Offsite> offsite;           // [backups]
  std::optional<Proxy> proxy;
  std::vector<Job> jobs;
  std::vector<HealthCheck> health;
  ServerChecks server_checks;
  Hooks hooks;
  DeployPolicy deploy;
  Base base;
  std::vector<SecretSource> secrets;
  // Not from the file: servers a command took out of service for the rest of its run
  // (the primary `berth db promote` fenced). Read URLs do not name them.
  std::vector<std::string> out_of_service;

  const Server* find_server(std::string_view name) const;
  // The PostgreSQL replicas the databases name (Database::replicas), once each.
  std::vector<std::string> postgresql_replicas() const;
  // Whether server `name` is one of them.
  bool is_replica(std::string_view name) const;
};

// The physical replication slot a PostgreSQL primary keeps for server `name`: berth_ and
// the name in lower case, other characters than letters and digits as _ (slot names
// allow no more).
std::string replication_slot(std::string_view name);

}  // namespace berth::manifest
