#include <core/manifest/presets.hpp>

namespace berth::manifest {

namespace {

constexpr std::string_view minimal = R"(# berth.toml: what berth deploys, and where. Reference: docs/manifest.md
# Check it offline with `berth check`; then `berth setup` and `berth deploy`.

[app]
name = "myapp"                   # lowercase; names the service and the unix user

[app.build]
command = ""                     # run locally before upload, e.g. "npm ci && npm run build"
dir = "."                        # the folder uploaded as a release
ignore = [".git", "node_modules/.cache"]

[app.run]
runtime = "node"                 # node | python | binary
command = "node server.js"       # started in the release folder
port = 3000                      # the app listens on $PORT

[app.run.env]
NODE_ENV = "production"

# One server with every role (db, app, proxy). Add more [servers.NAME] as you grow.
[servers.web]
address = "203.0.113.10"         # IP or DNS name
user = "root"                    # the first `berth setup` needs root or sudo

[proxy]
domains = ["example.com"]
tls = "self-signed"              # letsencrypt (with acme_email) | self-signed | off

[[health]]
name = "home"
url = "/"                        # a path: the app on each app server
conditions = ["[STATUS] == 200"]
)";

constexpr std::string_view node_postgres = R"(# berth.toml: a Node.js API with PostgreSQL. Reference: docs/manifest.md
# Check it offline with `berth check`; then `berth setup` and `berth deploy`.

[app]
name = "myapi"                   # lowercase; names the service, the unix user and the database
keep_releases = 5                # kept for `berth rollback`

[app.build]
command = "npm ci && npm run build"
dir = "."
ignore = [".git", "node_modules/.cache", "coverage"]

[app.run]
runtime = "node"                 # Debian's Node.js: 18 on Debian 12, 20 on Debian 13
# node = "22"                    # or this major from NodeSource (20, 22, 24): docs/manifest.md
command = "node dist/server.js"
port = 3000                      # instance i listens on port + i, or on port + instances + i
instances = 2                    # zero-downtime deploys need at least 2
migrate = "prisma"               # node_modules/.bin/prisma migrate deploy; or a command, e.g. "node migrate.js"

[app.run.env]
NODE_ENV = "production"
LOG_LEVEL = "info"

# Secrets never live in this file: ${secret:NAME} comes from the environment,
# .berth/secrets (NAME=value lines; keep it out of git) or a [secrets.NAME] command.
[app.run.secrets]
JWT_SECRET = { generate = true, length = 48 }   # created once on the server, then kept
STRIPE_KEY = "${secret:STRIPE_KEY}"

[secrets.STRIPE_KEY]
command = "pass show myapi/stripe"

[servers.web]
address = "203.0.113.10"
user = "root"
roles = ["app", "proxy", "db"]

# DATABASE_URL is given to the app; name and user default to the app's name.
[databases.main]
engine = "postgresql"
backups = { enabled = true, schedule = "daily", keep_days = 7 }

[proxy]
domains = ["api.example.com"]
tls = "letsencrypt"
acme_email = "ops@example.com"
rate_limit = { requests_per_second = 10, burst = 20, connections = 20 }
block_bots = true
max_body = "10m"

[proxy.headers]
Strict-Transport-Security = "max-age=31536000"

[[jobs]]
name = "cleanup"
schedule = "30 3 * * *"          # 5-field cron or systemd OnCalendar ("daily")
command = "node dist/jobs/cleanup.js"
timeout = "30min"

[[health]]
name = "api"
url = "/healthz"
conditions = ["[STATUS] == 200", "[RESPONSE_TIME] < 500"]

[[health]]
name = "tls"
url = "https://api.example.com/healthz"
conditions = ["[CERTIFICATE_EXPIRATION] > 240h"]

[hooks]
pre_build = ["npm test"]
# Remote hooks get BERTH_PORT: the live instance's port (blue/green deploys alternate
# between port and port + instances).
post_deploy = [{ command = "curl -fsS http://127.0.0.1:$BERTH_PORT/healthz", remote = true, role = "app" }]
)";

}  // namespace

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all{
      {"minimal", "one server, a Node app started by a command, nginx in front", minimal},
      {"node-postgres", "a Node API with PostgreSQL, secrets, a cron job and Let's Encrypt",
       node_postgres},
  };
  return all;
}

std::optional<Preset> find_preset(std::string_view name) {
  for (const auto& p : presets()) {
    if (p.name == name) return p;
  }
  return std::nullopt;
}

}  // namespace berth::manifest
