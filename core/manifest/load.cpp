// Loading berth.toml: read, merge the environment overlay, check the structure
// against the schema, build the Manifest, then check what the schema cannot see
// (references between sections, schedules, duplicates, value syntax). Every problem
// becomes a Diagnostic; none stops the others from being found.
#include <core/manifest/load.hpp>
#include <core/manifest/schedule.hpp>
#include <core/manifest/schema.hpp>
#include <core/manifest/structure.hpp>
#include <core/manifest/toml_bounds.hpp>
#include <core/manifest/text.hpp>
#include <core/manifest/values.hpp>

#include <core/error.hpp>
#include <core/health/condition.hpp>
#include <core/util/duration.hpp>
#include <core/util/net.hpp>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace berth::manifest {

std::string Diagnostic::to_string() const {
  const char* kind = severity == Severity::error ? "error" : "warning";
  if (where.line == 0) return fmt::format("{}: {}: {}", where.file, kind, message);
  return fmt::format("{}:{}:{}: {}: {}", where.file, where.line, where.column, kind, message);
}

namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 4> all_roles{"db", "app", "proxy", "backup"};

// Reads and parses one TOML file; a problem becomes a Diagnostic.
std::optional<toml::table> parse_file(const std::string& path, std::vector<Diagnostic>& out,
                                      std::string_view missing_hint) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.push_back({{path, 0, 0}, Severity::error,
                   fmt::format("cannot read {}: {}{}", path, std::strerror(errno), missing_hint)});
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string content = text.str();
  if (const auto bound = check_toml_bounds(content, path)) {
    out.push_back({bound->where, Severity::error, bound->message});
    return std::nullopt;
  }
  try {
    if (const auto stand_in = ascii_stand_in(content); stand_in != content) {
      (void)toml::parse(std::string_view(stand_in), std::string_view(path));
    }
    return toml::parse(std::string_view(content), std::string_view(path));
  } catch (const toml::parse_error& e) {
    out.push_back({location_of(e.source(), path), Severity::error,
                   fmt::format("invalid TOML: {}", e.description())});
    return std::nullopt;
  }
}

// Moves `overlay` into `base`: tables merge key by key; anything else replaces.
void merge(toml::table& base, toml::table&& overlay) {
  for (auto&& [k, v] : overlay) {
    auto* existing = base.get(k.str());
    if (existing && existing->is_table() && v.is_table()) {
      merge(*existing->as_table(), std::move(*v.as_table()));
      continue;
    }
    v.visit([&, &key = k](auto&& n) { base.insert_or_assign(key, std::move(n)); });
  }
}

// `s` as one line of text for a message: control characters as \xNN, at most 80 bytes.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) {
    const auto u = static_cast<unsigned char>(c);
    out += u < 0x20 || u == 0x7f ? fmt::format("\\x{:02x}", u) : std::string(1, c);
  }
  if (s.size() > 80) out += fmt::format("... ({} bytes)", s.size());
  return out;
}

// The longest NAME=value (with its NUL) execve takes: MAX_ARG_STRLEN, 32 pages.
constexpr std::size_t max_env_string = 131072;

// LOCAL@DOMAIN without spaces, quotes, backslashes or control characters.
bool is_email(std::string_view s) {
  const auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size() || s.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  return std::none_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '\'';
  });
}

// Text a URL may hold as written (RFC 3986 characters and '%'): no spaces, quotes,
// control characters or <>\^`{|}.
bool is_url_text(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u >= 0x7f || std::string_view("\"<>\\^`{|}").find(c) != std::string_view::npos;
  });
}

// A domain name, "*." allowed first: labels of 1..63 letters, digits and '-', not
// starting or ending with '-'.
bool is_domain(std::string_view name) {
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const auto dot = name.find('.', start);
    const auto label = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    const auto inner = [](char c) { return text::is_alnum(c) || c == '-'; };
    if (!text::is_word(label, text::is_alnum, inner, 63) || label.back() == '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// host:port, the host without spaces, '/' or ':', the port 1..5 digits.
bool is_host_port(std::string_view s) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const auto host = s.substr(0, colon);
  const auto port = s.substr(colon + 1);
  const bool host_ok = std::none_of(host.begin(), host.end(), [](char c) {
    return text::is_space(c) || c == '/' || c == ':';
  });
  return host_ok && text::is_number(port) && port.size() <= 5;
}

// An HTTP method: 1..20 uppercase letters (GET, HEAD, POST, ...).
bool is_http_method(std::string_view s) {
  return text::is_word(s, text::is_upper, text::is_upper, 20);
}

// An HTTP header name: an RFC 9110 token.
bool is_header_name(std::string_view s) {
  const auto token = [](char c) {
    return text::is_alnum(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  };
  return text::is_word(s, token, token, 256);
}

// curl's --connect-to form HOST:PORT:ADDRESS:PORT; HOST and ADDRESS may be [IPv6],
// any part may be empty (curl: "any"), a port is up to 5 digits.
bool is_connect_to(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  bool bracket = false;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i < s.size() && s[i] == '[') bracket = true;
    if (i < s.size() && s[i] == ']') bracket = false;
    if (i == s.size() || (s[i] == ':' && !bracket)) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() != 4) return false;
  const auto port_ok = [](std::string_view p) {
    return p.empty() || (text::is_number(p) && p.size() <= 5);
  };
  const auto host_ok = [](std::string_view h) {
    return std::none_of(h.begin(), h.end(), [](char c) { return text::is_space(c) || c == '/'; });
  };
  return host_ok(parts[0]) && port_ok(parts[1]) && host_ok(parts[2]) && port_ok(parts[3]);
}

// Builds the Manifest from a document that may not fit the schema (the structure
// pass reported that already): wrong types read as defaults.
class Builder {
 public:
  explicit Builder(const std::string& file) : file_(file) {}

  Manifest build(const toml::table& root) {
    Manifest m;
    if (const auto* app = root["app"].as_table()) read_app(*app, m.app);
    if (const auto* servers = root["servers"].as_table()) {
      for (auto&& [k, v] : *servers) {
        if (const auto* t = v.as_table()) m.servers.push_back(read_server(k, *t));
      }
      std::sort(m.servers.begin(), m.servers.end(),
                [](const Server& a, const Server& b) { return a.name < b.name; });
    }
    if (const auto* dbs = root["databases"].as_table()) {
      for (auto&& [k, v] : *dbs) {
        if (const auto* t = v.as_table()) m.databases.push_back(read_database(k, *t, m.app));
      }
      std::sort(m.databases.begin(), m.databases.end(),
                [](const Database& a, const Database& b) { return a.key < b.key; });
    }
    if (const auto* backups = root["backups"].as_table()) m.offsite = read_offsite(*backups);
    if (const auto* proxy = root["proxy"].as_table()) m.proxy = read_proxy(*proxy);
    if (const auto* jobs = root["jobs"].as_array()) {
      for (const auto& j : *jobs) {
        if (const auto* t = j.as_table()) m.jobs.push_back(read_job(*t));
      }
    }
    if (const auto* health = root["health"].as_array()) {
      for (const auto& h : *health) {
        if (const auto* t = h.as_table()) m.health.push_back(read_health(*t));
      }
    }
    if (const auto* checks = root["server_checks"].as_table()) {
      m.server_checks.disk = conditions(*checks, "disk");
      m.server_checks.memory = conditions(*checks, "memory");
      m.server_checks.load = conditions(*checks, "load");
      m.server_checks.certificate = conditions(*checks, "certificate");
      m.server_checks.replication = conditions(*checks, "replication");
      m.server_checks.replication_slot = conditions(*checks, "replication_slot");
      m.server_checks.backup = conditions(*checks, "backup");
      m.server_checks.verification = conditions(*checks, "verification");
    }
    if (const auto* hooks = root["hooks"].as_table()) {
      m.hooks.pre_build = read_hooks(*hooks, "pre_build");
      m.hooks.pre_deploy = read_hooks(*hooks, "pre_deploy");
      m.hooks.post_deploy = read_hooks(*hooks, "post_deploy");
    }
    if (const auto* deploy = root["deploy"].as_table()) {
      m.deploy.where = at(deploy->source());
      m.deploy.max_fail = static_cast<int>(std::clamp<int64_t>(deploy->get("max_fail") ? deploy->get("max_fail")->value_or<int64_t>(0) : 0, 0, 1 << 20));
      if (const auto* batch = deploy->get("batch")) {
        if (auto n = batch->value<int64_t>()) m.deploy.batch = static_cast<int>(std::clamp<int64_t>(*n, -1, 1 << 20));
        if (auto s = batch->value<std::string>(); s && s->ends_with('%')) {
          int percent = -1;
          const auto digits = std::string_view(*s).substr(0, s->size() - 1);
          const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), percent);
          m.deploy.batch_percent = ec == std::errc() && end == digits.data() + digits.size() ? percent : -1;
        } else if (s) {
          m.deploy.batch_percent = -1;  // refused by check
        }
      }
    }
    if (const auto* base = root["base"].as_table()) m.base = read_base(*base);
    if (const auto* secrets = root["secrets"].as_table()) {
      for (auto&& [k, v] : *secrets) {
        if (const auto* t = v.as_table()) {
          SecretSource s;
          s.name = std::string(k.str());
          s.command = str(*t, "command");
          s.env = str(*t, "env");
          s.where = at(k.source());
          m.secrets.push_back(std::move(s));
        }
      }
      std::sort(m.secrets.begin(), m.secrets.end(),
                [](const SecretSource& a, const SecretSource& b) { return a.name < b.name; });
    }
    return m;
  }

 private:
  Location at(const toml::source_region& r) const { return location_of(r, file_); }
  Location at(const toml::table& t, std::string_view key) const {
    if (const auto* n = t.get(key)) return at(n->source());
    return at(t.source());
  }

  static std::string str(const toml::table& t, std::string_view key, std::string fallback = {}) {
    return t[key].value<std::string>().value_or(std::move(fallback));
  }
  static int integer(const toml::table& t, std::string_view key, int fallback) {
    const auto v = t[key].value<std::int64_t>();
    if (!v || *v < INT32_MIN || *v > INT32_MAX) return fallback;
    return static_cast<int>(*v);
  }
  // A duration like "3s" (a bad one is the Validator's error).
  static std::chrono::milliseconds span(const toml::table& t, std::string_view key,
                                        std::chrono::milliseconds fallback) {
    const auto parsed = util::parse_duration(str(t, key));
    return parsed ? *parsed : fallback;
  }
  static bool boolean(const toml::table& t, std::string_view key, bool fallback) {
    return t[key].value<bool>().value_or(fallback);
  }
  static std::vector<std::string> strings(const toml::table& t, std::string_view key) {
    std::vector<std::string> out;
    if (const auto* a = t[key].as_array()) {
      for (const auto& item : *a) {
        if (auto s = item.value<std::string>()) out.push_back(*s);
      }
    }
    return out;
  }

  void read_app(const toml::table& t, App& app) {
    app.name = str(t, "name");
    app.keep_releases = integer(t, "keep_releases", app.keep_releases);
    app.where = at(t.source());
    if (const auto* b = t["build"].as_table()) {
      app.build.command = str(*b, "command");
      app.build.dir = str(*b, "dir", app.build.dir);
      app.build.ignore = strings(*b, "ignore");
    }
    if (const auto* r = t["run"].as_table()) {
      app.run.runtime = str(*r, "runtime", app.run.runtime);
      app.run.command = str(*r, "command");
      app.run.port = integer(*r, "port", app.run.port);
      app.run.instances = integer(*r, "instances", app.run.instances);
      app.run.migrate = str(*r, "migrate");
      app.run.node = str(*r, "node");
      app.run.drain = span(*r, "drain", app.run.drain);
      app.run.stop_timeout = span(*r, "stop_timeout", app.run.stop_timeout);
      if (const auto* env = (*r)["env"].as_table()) {
        for (auto&& [k, v] : *env) {
          if (auto s = v.value<std::string>()) app.run.env[std::string(k.str())] = *s;
        }
      }
      if (const auto* secrets = (*r)["secrets"].as_table()) {
        for (auto&& [k, v] : *secrets) {
          SecretSpec spec;
          spec.name = std::string(k.str());
          spec.where = at(v.source());
          if (auto s = v.value<std::string>()) {
            spec.value = *s;
          } else if (const auto* g = v.as_table()) {
            spec.generate = boolean(*g, "generate", false);
            spec.length = integer(*g, "length", spec.length);
          }
          app.run.secrets.push_back(std::move(spec));
        }
        std::sort(app.run.secrets.begin(), app.run.secrets.end(),
                  [](const SecretSpec& a, const SecretSpec& b) { return a.name < b.name; });
      }
    }
  }

  Server read_server(const toml::key& key, const toml::table& t) {
    Server s;
    s.name = std::string(key.str());
    s.address = str(t, "address");
    s.port = integer(t, "port", s.port);
    s.user = str(t, "user", s.user);
    s.become = boolean(t, "become", s.become);
    s.roles = strings(t, "roles");
    s.identity_file = str(t, "identity_file");
    s.known_hosts = str(t, "known_hosts");
    s.proxy_jump = str(t, "proxy_jump");
    s.private_address = str(t, "private_address");
    s.where = at(key.source());
    return s;
  }

  Database read_database(const toml::key& key, const toml::table& t, const App& app) {
    Database d;
    d.key = std::string(key.str());
    const auto engine = str(t, "engine", "postgresql");
    if (engine == "mysql") d.engine = Engine::mysql;
    if (engine == "redis") d.engine = Engine::redis;
    if (engine == "mongodb") d.engine = Engine::mongodb;
    d.name = str(t, "name", app.name);
    d.user = str(t, "user", app.name);
    d.version = str(t, "version");
    const char* default_var = d.engine == Engine::redis     ? "REDIS_URL"
                              : d.engine == Engine::mongodb ? "MONGODB_URL"
                                                            : "DATABASE_URL";
    d.env_var = str(t, "env_var", default_var);
    d.replicas = strings(t, "replicas");
    // The read-only URL is the app's when it names replicas, or asks for it by name.
    const auto replica_var = d.env_var == "DATABASE_URL" ? "DATABASE_REPLICA_URL" : d.env_var + "_REPLICA";
    d.replica_env_var =
        str(t, "replica_env_var", d.replicas.empty() || d.engine != Engine::postgresql ? "" : replica_var);
    if (const auto* b = t["backups"].as_table()) {
      d.backups.enabled = boolean(*b, "enabled", d.backups.enabled);
      d.backups.schedule = str(*b, "schedule", d.backups.schedule);
      d.backups.keep_days = integer(*b, "keep_days", d.backups.keep_days);
      if (const auto* v = (*b)["verify"].as_table()) {
        Verify verify;
        verify.query = str(*v, "query");
        verify.min = (*v)["min"].value<std::int64_t>().value_or(verify.min);
        verify.schedule = str(*v, "schedule", verify.schedule);
        verify.where = at(v->source());
        d.backups.verify = std::move(verify);
      }
    }
    d.where = at(key.source());
    return d;
  }

  Offsite read_offsite(const toml::table& t) {
    Offsite o;
    o.server = str(t, "server");
    if (const auto* s3 = t["s3"].as_table()) {
      o.s3 = S3Target{.endpoint = str(*s3, "endpoint"),
                      .bucket = str(*s3, "bucket"),
                      .access_key_id = str(*s3, "access_key_id"),
                      .secret_access_key = str(*s3, "secret_access_key"),
                      .region = str(*s3, "region"),
                      .ca_cert = str(*s3, "ca_cert"),
                      .where = at(s3->source())};
    }
    if (const auto* sftp = t["sftp"].as_table()) {
      o.sftp = SftpTarget{.address = str(*sftp, "address"),
                          .port = integer(*sftp, "port", 22),
                          .user = str(*sftp, "user"),
                          .path = str(*sftp, "path"),
                          .key = str(*sftp, "key"),
                          .host_key = str(*sftp, "host_key"),
                          .where = at(sftp->source())};
    }
    o.key = str(t, "key");
    o.keep_daily = integer(t, "keep_daily", o.keep_daily);
    o.keep_weekly = integer(t, "keep_weekly", o.keep_weekly);
    o.keep_monthly = integer(t, "keep_monthly", o.keep_monthly);
    o.check = str(t, "check", o.check);
    o.on_failure_webhook = str(t, "on_failure_webhook");
    o.where = at(t.source());
    return o;
  }

  Proxy read_proxy(const toml::table& t) {
    Proxy p;
    p.kind = str(t, "kind", p.kind);
    p.domains = strings(t, "domains");
    if (const auto* own = t["tls"].as_table()) {
      p.tls = Tls::own;
      p.certificate = OwnCertificate{str(*own, "cert"), str(*own, "key"), at(own->source())};
    } else {
      const auto tls = str(t, "tls", "self-signed");
      p.tls = tls == "letsencrypt" ? Tls::letsencrypt : tls == "off" ? Tls::off : Tls::self_signed;
    }
    p.acme_email = str(t, "acme_email");
    p.acme_directory = str(t, "acme_directory");
    if (const auto* r = t["rate_limit"].as_table()) {
      RateLimit rl;
      rl.requests_per_second = integer(*r, "requests_per_second", rl.requests_per_second);
      rl.burst = integer(*r, "burst", rl.burst);
      rl.connections = integer(*r, "connections", rl.connections);
      p.rate_limit = rl;
    }
    p.block_bots = boolean(t, "block_bots", p.block_bots);
    p.bot_user_agents = strings(t, "bot_user_agents");
    if (const auto* h = t["headers"].as_table()) {
      for (auto&& [k, v] : *h) {
        if (auto s = v.value<std::string>()) p.headers[std::string(k.str())] = *s;
      }
    }
    p.max_body = str(t, "max_body", p.max_body);
    p.trusted_proxies = strings(t, "trusted_proxies");
    p.real_ip_header = str(t, "real_ip_header");
    p.http2 = boolean(t, "http2", p.http2);
    p.read_timeout = str(t, "read_timeout", p.read_timeout);
    if (const auto* list = t["access"].as_array()) {
      for (const auto& item : *list) {
        const auto* a = item.as_table();
        if (!a) continue;
        Access access;
        access.path = str(*a, "path", access.path);
        access.allow = strings(*a, "allow");
        if (const auto* users = (*a)["users"].as_table()) {
          for (auto&& [k, v] : *users) {
            if (auto s = v.value<std::string>()) access.users[std::string(k.str())] = *s;
          }
        }
        access.where = at(a->source());
        p.access.push_back(std::move(access));
      }
    }
    if (const auto* list = t["limits"].as_array()) {
      for (const auto& item : *list) {
        const auto* l = item.as_table();
        if (!l) continue;
        PathLimit limit;
        limit.path = str(*l, "path");
        limit.requests_per_minute = integer(*l, "requests_per_minute", 0);
        limit.burst = integer(*l, "burst", limit.requests_per_minute);
        limit.where = at(l->source());
        p.limits.push_back(std::move(limit));
      }
    }
    p.where = at(t.source());
    return p;
  }

  Job read_job(const toml::table& t) {
    Job j;
    j.name = str(t, "name");
    j.schedule = str(t, "schedule");
    j.command = str(t, "command");
    j.run_on = str(t, "run_on") == "all" ? RunOn::all : RunOn::one;
    j.role = str(t, "role", j.role);
    j.timeout = str(t, "timeout", j.timeout);
    j.overlap = str(t, "overlap") == "allow" ? Overlap::allow : Overlap::forbid;
    j.on_failure_webhook = str(t, "on_failure_webhook");
    j.where = at(t.source());
    return j;
  }

  HealthCheck read_health(const toml::table& t) {
    HealthCheck h;
    h.name = str(t, "name");
    h.kind = str(t, "kind", h.kind);
    h.url = str(t, "url");
    h.conditions = conditions(t, "conditions");
    h.interval = str(t, "interval", h.interval);
    h.timeout = str(t, "timeout", h.timeout);
    h.where = at(t.source());
    h.method = str(t, "method", h.method);
    if (const auto* headers = t["headers"].as_table()) {
      for (auto&& [k, v] : *headers) {
        if (auto s = v.value<std::string>()) h.headers[std::string(k.str())] = *s;
      }
    }
    h.connect_to = strings(t, "connect_to");
    h.ca_file = str(t, "ca_file");
    h.insecure = boolean(t, "insecure", h.insecure);
    h.connect_timeout = str(t, "connect_timeout");
    h.success_threshold = integer(t, "success_threshold", h.success_threshold);
    return h;
  }

  std::vector<Hook> read_hooks(const toml::table& t, std::string_view key) {
    std::vector<Hook> hooks;
    if (const auto* a = t[key].as_array()) {
      for (const auto& item : *a) {
        Hook h;
        h.where = at(item.source());
        if (auto s = item.value<std::string>()) {
          h.command = *s;
        } else if (const auto* ht = item.as_table(); ht && ht->contains("command")) {
          h.command = str(*ht, "command");
          h.remote = boolean(*ht, "remote", h.remote);
          h.role = str(*ht, "role", h.role);
        } else {
          continue;
        }
        hooks.push_back(std::move(h));
      }
    }
    return hooks;
  }

  // The strings of list `key` of `t`, each with its place.
  std::vector<ConditionText> conditions(const toml::table& t, std::string_view key) {
    std::vector<ConditionText> out;
    if (const auto* a = t[key].as_array()) {
      for (const auto& c : *a) {
        if (auto s = c.value<std::string>()) out.push_back({*s, at(c.source())});
      }
    }
    return out;
  }

  Base read_base(const toml::table& t) {
    Base b;
    b.harden = boolean(t, "harden", b.harden);
    b.deploy_user = str(t, "deploy_user", b.deploy_user);
    b.ssh_keys = strings(t, "ssh_keys");
    b.timezone = str(t, "timezone", b.timezone);
    b.swap = str(t, "swap", b.swap);
    if (const auto* a = t["open_ports"].as_array()) {
      for (const auto& p : *a) {
        if (auto v = p.value<std::int64_t>()) b.open_ports.push_back(static_cast<int>(*v));
      }
    }
    b.journald_max_use = str(t, "journald_max_use", b.journald_max_use);
    return b;
  }

  const std::string& file_;
};

// The checks the schema cannot express, on the built Manifest.
class Validator {
 public:
  Validator(Manifest& m, const toml::table& root, const std::string& file,
            std::vector<Diagnostic>& out)
      : m_(m), root_(root), file_(file), out_(out) {}

  void run() {
    app();
    servers();
    databases();
    replica_servers();
    offsite();
    proxy();
    fleet();
    jobs();
    health();
    server_checks();
    hooks();
    base();
    values();
  }

 private:
  void error(const Location& where, std::string message) {
    out_.push_back({where, Severity::error, std::move(message)});
  }
  void warning(const Location& where, std::string message) {
    out_.push_back({where, Severity::warning, std::move(message)});
  }
  // Where the value of `path` (e.g. {"app", "run", "port"}) was written, or the
  // closest table that exists.
  Location at(std::initializer_list<std::string_view> path) const {
    const toml::node* node = &root_;
    for (auto key : path) {
      const auto* t = node->as_table();
      const toml::node* next = t ? t->get(key) : nullptr;
      if (!next) break;
      node = next;
    }
    auto where = location_of(node->source(), file_);
    if (where.line == 0) where.line = 1, where.column = 1;
    return where;
  }
  // Where `key` of the i-th table of the array `array` ([[jobs]]) was written, or
  // that table when the key is absent.
  // Where `key` of the i-th table of the array at `path` ([[proxy.access]]) was written,
  // or that table when the key is absent.
  Location item_at(std::initializer_list<std::string_view> path, std::size_t i, std::string_view key) const {
    toml::node_view<const toml::node> node{root_};
    for (auto k : path) node = node[k];
    if (const auto* n = node[i][key].node()) return location_of(n->source(), file_);
    if (const auto* n = node[i].node()) return location_of(n->source(), file_);
    return at(path);
  }
  Location at_item(std::string_view array, std::size_t i, std::string_view key) const {
    const auto item = root_[array][i];
    if (const auto* n = item[key].node()) return location_of(n->source(), file_);
    if (const auto* n = item.node()) return location_of(n->source(), file_);
    return at({array});
  }

  bool role_exists(std::string_view role) const {
    return std::any_of(m_.servers.begin(), m_.servers.end(),
                       [&](const Server& s) { return s.has_role(role); });
  }
  void need_role(std::string_view role, const Location& where, std::string_view who) {
    if (m_.servers.empty() || role_exists(role)) return;
    error(where, fmt::format("{} needs a server with role '{}', and no server has it (add '{}' "
                             "to the roles of a [servers.NAME], or leave roles out: that means "
                             "all roles)",
                             who, role, role));
  }

  void value_syntax(std::string_view text, const Location& where, std::string_view what) {
    if (auto refs = parse_references(text); !refs) error(where, fmt::format("{}: {}", what, refs.error()));
  }

  void app() {
    const bool name_ok = text::is_word(m_.app.name, text::is_lower, [](char c) {
      return text::is_lower(c) || text::is_digit(c) || c == '-';
    }, 32);
    if (root_.contains("app") && !m_.app.name.empty() && !name_ok) {
      error(at({"app", "name"}),
            fmt::format("app name '{}' must be lowercase letters, digits and '-', starting with a "
                        "letter, at most 32 characters (it names a unix user and a service)",
                        m_.app.name));
    }
    const auto& run = m_.app.run;
    if (run.port <= 65535 && run.port + run.instances - 1 > 65535) {
      error(at({"app", "run", "instances"}),
            fmt::format("instances {} from port {} would use ports beyond 65535", run.instances,
                        run.port));
    }
    for (const auto& [key, max] : {std::pair<std::string_view, std::chrono::milliseconds>{"drain", std::chrono::minutes(5)},
                                   {"stop_timeout", std::chrono::minutes(15)}}) {
      const auto* r = root_["app"]["run"].as_table();
      const auto text = r ? (*r)[key].value<std::string>() : std::nullopt;
      if (!text) continue;
      const auto parsed = util::parse_duration(*text);
      if (!parsed) {
        error(at({"app", "run", key}), fmt::format("{} '{}' is not a duration like 3s or 1m30s: {}", key, *text,
                                                   parsed.error().message));
      } else if (*parsed > max) {
        error(at({"app", "run", key}),
              fmt::format("{} '{}' is longer than the {} berth allows", key, *text, util::format_duration(max)));
      }
    }
    if (!run.node.empty() && run.runtime != "node") {
      error(at({"app", "run", "node"}),
            fmt::format("node = \"{}\" is for runtime = \"node\", and runtime is \"{}\": remove node "
                        "or set runtime = \"node\"",
                        run.node, run.runtime));
    }
    for (const auto& [name, value] : run.env) {
      value_syntax(value, at({"app", "run", "env", name}), fmt::format("env {}", name));
    }
    for (const auto& s : run.secrets) {
      if (run.env.contains(s.name)) {
        error(s.where, fmt::format("{} is in both [app.run.env] and [app.run.secrets]; keep one",
                                   s.name));
      }
      if (s.generate) continue;
      const auto entry = root_["app"]["run"]["secrets"][s.name];
      if (!entry.is_string()) {
        if (entry["generate"].value<bool>() == false) {
          error(location_of(entry["generate"].node()->source(), file_),
                fmt::format("secret {}: generate must be true (or give a \"${{secret:NAME}}\" "
                            "reference instead of a table)",
                            s.name));
        }
        continue;
      }
      auto refs = parse_references(s.value);
      if (!refs) {
        error(s.where, fmt::format("secret {}: {}", s.name, refs.error()));
      } else if (refs->empty()) {
        warning(s.where, fmt::format("secret {} is written in clear in the manifest; use "
                                     "\"${{secret:{}}}\" and keep the value in .berth/secrets or "
                                     "the environment",
                                     s.name, s.name));
      }
    }
    if (!m_.app.name.empty()) need_role("app", at({"app"}), "[app]");
  }

  void servers() {
    for (const auto& s : m_.servers) {
      if (!text::is_word(s.name, text::is_alnum, [](char c) {
            return text::is_alnum(c) || c == '_' || c == '.' || c == '-';
          })) {
        error(s.where, fmt::format("server name '{}' must be letters, digits, '.', '_' and '-'",
                                   s.name));
      }
      if (root_["servers"][s.name]["address"].is_string() && s.address.empty()) {
        error(at({"servers", s.name, "address"}), fmt::format("server {} has an empty address", s.name));
      }
      if (!s.private_address.empty() && !util::is_address(s.private_address)) {
        error(at({"servers", s.name, "private_address"}),
              fmt::format("private_address '{}' of server {} is not an IP address", printable(s.private_address),
                          s.name));
      }
      std::set<std::string> seen;
      for (const auto& role : s.roles) {
        if (!seen.insert(role).second) {
          warning(at({"servers", s.name, "roles"}),
                  fmt::format("server {} lists role '{}' twice", s.name, role));
        }
      }
    }
    if (root_["servers"].is_table() && m_.servers.empty()) {
      error(at({"servers"}), "[servers] has no server: add a [servers.NAME] table with an address");
    }
  }

  void databases() {
    std::map<std::string, std::string> env_vars;
    for (const auto& d : m_.databases) {
      if (auto [it, inserted] = env_vars.emplace(d.env_var, d.key); !inserted) {
        error(at({"databases", d.key}),
              fmt::format("[databases.{}] and [databases.{}] both set {}; give one of them "
                          "env_var = \"...\"",
                          it->second, d.key, d.env_var));
      }
      if (d.backups.enabled) {
        if (auto oc = to_on_calendar(d.backups.schedule); !oc) {
          error(at({"databases", d.key, "backups", "schedule"}),
                fmt::format("backup schedule of [databases.{}]: {}", d.key, oc.error()));
        }
      }
      need_role("db", d.where, fmt::format("[databases.{}]", d.key));
      replicas(d, env_vars);
      // The app's environment gets the URL under env_var: it must not be set twice.
      const bool in_env = m_.app.run.env.contains(d.env_var);
      const bool in_secrets = std::any_of(m_.app.run.secrets.begin(), m_.app.run.secrets.end(),
                                          [&](const SecretSpec& s) { return s.name == d.env_var; });
      if (in_env || in_secrets) {
        error(at({"databases", d.key}),
              fmt::format("[databases.{}] gives the app {}, which [app.run.{}] sets too; remove it "
                          "there or set env_var = \"...\" here",
                          d.key, d.env_var, in_env ? "env" : "secrets"));
      }
    }
  }

  // [backups] and each database's backups.verify: one backup server, never a db server
  // (its copies must survive the database's server), named by [backups] server.
  void offsite() {
    std::vector<const Server*> backup_servers;
    for (const auto& s : m_.servers) {
      if (!s.has_role("backup")) continue;
      backup_servers.push_back(&s);
      if (s.has_role("db")) {
        error(at({"servers", s.name, "roles"}),
              fmt::format("server {} has both the db and the backup role: copies on the database's own "
                          "server do not survive it; give the backup role to another server",
                          s.name));
      }
    }
    for (const auto& d : m_.databases) {
      if (!d.backups.verify) continue;
      const auto& v = *d.backups.verify;
      const auto where = at({"databases", d.key, "backups", "verify"});
      if (d.engine != Engine::postgresql && d.engine != Engine::mysql) {
        error(where, fmt::format("[databases.{}] backups.verify: berth restores and queries PostgreSQL and "
                                 "MySQL copies; for {} the copies are checked by restic check alone",
                                 d.key, d.engine == Engine::redis ? "Redis" : "MongoDB"));
      }
      if (!m_.offsite) {
        error(where, fmt::format("[databases.{}] backups.verify checks the off-host copies: add [backups] "
                                 "server = \"NAME\" (a server with role backup)",
                                 d.key));
      }
      if (!d.backups.enabled) {
        error(where, fmt::format("[databases.{}] backups.verify needs backups.enabled = true", d.key));
      }
      if (v.query.find_first_not_of(" \t\r\n") == std::string::npos) {
        error(at({"databases", d.key, "backups", "verify", "query"}),
              fmt::format("[databases.{}] backups.verify needs a query, e.g. \"SELECT count(*) FROM users\"",
                          d.key));
      }
      if (auto oc = to_on_calendar(v.schedule); !oc) {
        error(at({"databases", d.key, "backups", "verify", "schedule"}),
              fmt::format("verify schedule of [databases.{}]: {}", d.key, oc.error()));
      }
    }
    if (!m_.offsite) {
      for (const auto* s : backup_servers) {
        error(at({"servers", s->name, "roles"}),
              fmt::format("server {} has the backup role but there is no [backups] server = \"{}\"", s->name,
                          s->name));
      }
      return;
    }
    const auto& o = *m_.offsite;
    if (m_.app.name.size() > 25) {
      error(o.where, fmt::format("[backups] needs an app name of at most 25 characters: the backup server's "
                                 "user is backup-{}, and a unix user name has at most 32",
                                 m_.app.name));
    }
    if (!o.server.empty() + o.s3.has_value() + o.sftp.has_value() != 1) {
      error(o.where, "[backups] needs one of server = \"NAME\" (a server with roles = [\"backup\"], over SFTP), "
                     "s3 = { endpoint, bucket, access_key_id, secret_access_key } or sftp = { address, user, path, "
                     "key, host_key }");
    }
    if (o.s3) s3_target(*o.s3);
    if (o.sftp) sftp_target(*o.sftp);
    value_syntax(o.key, at({"backups", "key"}), "[backups] key");
    const auto* target = m_.find_server(o.server);
    if (!o.server.empty() && (target == nullptr || !target->has_role("backup"))) {
      error(at({"backups", "server"}),
            fmt::format("[backups] server '{}' is not a server with the backup role{}", printable(o.server),
                        target == nullptr ? "" : fmt::format(" (add roles = [\"backup\"] to [servers.{}])", o.server)));
    }
    for (const auto* s : backup_servers) {
      if (o.server.empty() && (o.s3 || o.sftp)) {
        error(at({"servers", s->name, "roles"}),
              fmt::format("server {} has the backup role, but [backups] keeps the repository {}", s->name,
                          o.s3 ? "in S3" : "on its sftp server"));
      } else if (!o.server.empty() && s->name != o.server) {
        error(at({"servers", s->name, "roles"}),
              fmt::format("server {} has the backup role, but [backups] server is {}: one backup server holds "
                          "the repository",
                          s->name, o.server));
      }
    }
    // Each one's range is the schema's.
    if (o.keep_daily <= 0 && o.keep_weekly <= 0 && o.keep_monthly <= 0) {
      error(o.where, "[backups] keeps no copy: set keep_daily, keep_weekly or keep_monthly above 0");
    }
    if (auto oc = to_on_calendar(o.check); !oc) {
      error(at({"backups", "check"}), fmt::format("[backups] check: {}", oc.error()));
    }
    value_syntax(o.on_failure_webhook, at({"backups", "on_failure_webhook"}), "[backups] on_failure_webhook");
  }

  // [backups] s3: what restic's repository string and the environment file can carry.
  void s3_target(const S3Target& s3) {
    const auto url_ok = (s3.endpoint.starts_with("https://") || s3.endpoint.starts_with("http://")) &&
                        is_url_text(s3.endpoint) && s3.endpoint.find('/', s3.endpoint.find("//") + 2) == std::string::npos;
    if (!url_ok) {
      error(at({"backups", "s3", "endpoint"}),
            fmt::format("[backups] s3 endpoint '{}' must be http(s)://HOST[:PORT], with no path",
                        printable(s3.endpoint)));
    }
    const auto bucket_char = [](char c) { return text::is_lower(c) || text::is_digit(c) || c == '-' || c == '.'; };
    if (!text::is_word(s3.bucket, bucket_char, bucket_char, 63) || s3.bucket.size() < 3) {
      error(at({"backups", "s3", "bucket"}),
            fmt::format("[backups] s3 bucket '{}' must be 3-63 lowercase letters, digits, '-' and '.'",
                        printable(s3.bucket)));
    }
    for (const auto& [key, value] : {std::pair<const char*, const std::string&>{"access_key_id", s3.access_key_id},
                                     {"secret_access_key", s3.secret_access_key},
                                     {"region", s3.region},
                                     {"ca_cert", s3.ca_cert}}) {
      value_syntax(value, at({"backups", "s3", key}), fmt::format("[backups] s3 {}", key));
    }
  }

  // [backups] sftp: words that go into ssh's command line and restic's repository string.
  void sftp_target(const SftpTarget& t) {
    const auto host_char = [](char c) { return text::is_alnum(c) || c == '-' || c == '.' || c == ':'; };
    if (!text::is_word(t.address, host_char, host_char, 253)) {
      error(at({"backups", "sftp", "address"}),
            fmt::format("[backups] sftp address '{}' must be a host name or an IP address", printable(t.address)));
    }
    const auto user_char = [](char c) { return text::is_alnum(c) || c == '-' || c == '_' || c == '.'; };
    if (!text::is_word(t.user, user_char, user_char, 64)) {
      error(at({"backups", "sftp", "user"}),
            fmt::format("[backups] sftp user '{}' must be letters, digits, '-', '_' and '.'", printable(t.user)));
    }
    const auto path_char = [](char c) { return text::is_alnum(c) || std::string_view("/-_.+@=,").find(c) != std::string_view::npos; };
    if (!text::is_word(t.path, path_char, path_char, 1024)) {
      error(at({"backups", "sftp", "path"}),
            fmt::format("[backups] sftp path '{}' must be letters, digits and / - _ . + @ = ,", printable(t.path)));
    }
    if (t.port < 1 || t.port > 65535) error(at({"backups", "sftp", "port"}), "[backups] sftp port must be 1-65535");
    value_syntax(t.key, at({"backups", "sftp", "key"}), "[backups] sftp key");
    // "TYPE BASE64 [comment]", as ssh-keyscan or the server's *.pub file gives it.
    const auto words = [](std::string_view s) {
      std::vector<std::string_view> out;
      for (std::size_t pos = 0; pos < s.size();) {
        const auto end = std::min(s.find(' ', pos), s.size());
        if (end > pos) out.push_back(s.substr(pos, end - pos));
        pos = end + 1;
      }
      return out;
    };
    const auto w = words(t.host_key);
    const auto b64 = [](char c) { return text::is_alnum(c) || c == '+' || c == '/' || c == '='; };
    const auto type = [](char c) { return text::is_alnum(c) || c == '-' || c == '@' || c == '.'; };
    if (w.size() < 2 || w.size() > 3 || !text::is_word(w[0], type, type, 64) || !text::is_word(w[1], b64, b64, 4096) ||
        (w.size() == 3 && !text::is_word(w[2], [](char c) { return c > ' ' && c < 0x7f && c != '\'' && c != '"'; },
                                         [](char c) { return c > ' ' && c < 0x7f && c != '\'' && c != '"'; }, 256))) {
      error(at({"backups", "sftp", "host_key"}),
            "[backups] sftp host_key must be the server's public host key, \"TYPE BASE64\" (ssh-keyscan -t ed25519 "
            "HOST prints it; check it against the provider's)");
    }
  }

  static const Server* first_primary(const Manifest& m) {
    for (const auto& s : m.servers) {
      if (s.has_role("db") && !m.is_replica(s.name)) return &s;
    }
    return nullptr;
  }

  // [databases.KEY] replicas: PostgreSQL's streaming replicas of the whole cluster, so
  // every PostgreSQL database that names replicas names the same ones; each is a db
  // server, one db server stays the primary, and all of them reach each other by IP
  // (pg_hba and nftables take no names).
  void replicas(const Database& d, std::map<std::string, std::string>& env_vars) {
    if (d.engine != Engine::postgresql && !d.replica_env_var.empty()) {
      error(at({"databases", d.key, "replica_env_var"}),
            fmt::format("[databases.{}] replica_env_var: berth replicates PostgreSQL only", d.key));
    } else if (!d.replica_env_var.empty()) {
      if (auto [it, inserted] = env_vars.emplace(d.replica_env_var, d.key); !inserted) {
        error(at({"databases", d.key}),
              fmt::format("[databases.{}] gives the app {} for its replica, which [databases.{}] sets too; "
                          "set replica_env_var = \"...\"",
                          d.key, d.replica_env_var, it->second));
      }
      const bool in_env = m_.app.run.env.contains(d.replica_env_var);
      const bool in_secrets = std::any_of(m_.app.run.secrets.begin(), m_.app.run.secrets.end(),
                                          [&](const SecretSpec& s) { return s.name == d.replica_env_var; });
      if (in_env || in_secrets) {
        error(at({"databases", d.key}), fmt::format("[databases.{}] gives the app {}, which [app.run.{}] sets too",
                                                    d.key, d.replica_env_var, in_env ? "env" : "secrets"));
      }
    }
    if (d.replicas.empty()) return;
    const auto where = at({"databases", d.key, "replicas"});
    if (d.engine != Engine::postgresql) {
      error(where, fmt::format("[databases.{}] replicas: berth replicates PostgreSQL only", d.key));
      return;
    }
    for (const auto& other : m_.databases) {
      if (other.engine == Engine::postgresql && !other.replicas.empty() && other.key < d.key &&
          other.replicas != d.replicas) {
        error(where, fmt::format("[databases.{}] and [databases.{}] name different replicas, but a replica "
                                 "copies the whole PostgreSQL server: name the same servers in both",
                                 other.key, d.key));
      }
    }
    std::set<std::string> seen;
    for (const auto& name : d.replicas) {
      const auto* s = m_.find_server(name);
      if (s == nullptr || !s->has_role("db")) {
        error(where, fmt::format("[databases.{}] replica '{}' is not a server with the db role", d.key,
                                 printable(name)));
      } else if (!seen.insert(name).second) {
        error(where, fmt::format("[databases.{}] lists replica {} twice", d.key, name));
      }
    }
    if (first_primary(m_) == nullptr) {
      error(where, fmt::format("[databases.{}] every db server is a replica: leave one out, the primary", d.key));
    }
  }

  // What the db servers of a replicated PostgreSQL must be, once however many databases
  // name the replicas: the primary or a replica each, reachable by IP, with a slot name
  // of their own.
  void replica_servers() {
    const auto* primary = first_primary(m_);
    const Database* first = nullptr;
    for (const auto& d : m_.databases) {
      if (first == nullptr && d.engine == Engine::postgresql && !d.replicas.empty()) first = &d;
    }
    if (primary == nullptr || first == nullptr) return;
    const auto where = at({"databases", first->key, "replicas"});
    std::map<std::string, std::string> slots;
    for (const auto& s : m_.servers) {
      if (!s.has_role("db")) continue;
      if (!m_.is_replica(s.name) && &s != primary) {
        error(where, fmt::format("[databases.{}] has replicas, and db server {} is neither the primary ({}) nor one "
                                 "of them: every db server gets every database, so list it in `replicas` or give "
                                 "it roles without db",
                                 first->key, s.name, primary->name));
        continue;
      }
      if (auto [it, inserted] = slots.emplace(replication_slot(s.name), s.name); !inserted) {
        error(where, fmt::format("servers {} and {} would share the replication slot {}: rename one (slot names "
                                 "are lower case, with _ for other characters)",
                                 it->second, s.name, it->first));
      }
      if (util::is_address(s.internal_address())) continue;
      error(at({"servers", s.name, s.private_address.empty() ? "address" : "private_address"}),
            fmt::format("server {}: the PostgreSQL primary and its replicas reach each other by address, and "
                        "'{}' is not an IP address; set private_address = \"IP\"",
                        s.name, printable(s.internal_address())));
    }
  }

  void proxy() {
    if (!m_.proxy) return;
    const auto& p = *m_.proxy;
    for (const auto& d : p.domains) {
      if (!is_domain(d)) {
        error(at({"proxy", "domains"}), fmt::format("'{}' is not a domain name", d));
      }
    }
    if (p.tls == Tls::letsencrypt) {
      if (p.domains.empty()) {
        error(at({"proxy", "tls"}), "tls = \"letsencrypt\" needs domains = [\"example.com\"]");
      }
      if (p.acme_email.empty()) {
        error(at({"proxy", "tls"}), "tls = \"letsencrypt\" needs acme_email = \"you@example.com\"");
      }
    }
    if (!text::is_size(p.max_body, "kKmMgG", false)) {
      error(at({"proxy", "max_body"}),
            fmt::format("max_body '{}' is not a size like 10m, 512k or 1g", p.max_body));
    }
    for (const auto& [name, value] : p.headers) {
      value_syntax(value, at({"proxy", "headers", name}), fmt::format("header {}", name));
    }
    if (p.certificate) {
      own_certificate(*p.certificate);
    }
    if (p.http2 && p.tls == Tls::off) {
      error(at({"proxy", "http2"}), "http2 = true needs TLS: browsers speak HTTP/2 only over TLS");
    }
    for (const auto& entry : p.trusted_proxies) {
      if (entry != "cloudflare" && !util::is_cidr(entry)) {
        error(at({"proxy", "trusted_proxies"}),
              fmt::format("trusted_proxies: '{}' is neither \"cloudflare\" nor an address or CIDR "
                          "(e.g. 10.0.0.0/8)",
                          printable(entry)));
      }
    }
    if (!p.real_ip_header.empty()) {
      if (!is_header_name(p.real_ip_header)) {
        error(at({"proxy", "real_ip_header"}),
              fmt::format("real_ip_header '{}' is not a header name", printable(p.real_ip_header)));
      } else if (p.trusted_proxies.empty()) {
        error(at({"proxy", "real_ip_header"}),
              "real_ip_header is read only from trusted_proxies: list them too");
      }
    }
    if (const auto t = util::parse_duration(p.read_timeout);
        !t || *t < std::chrono::seconds(1) || *t > std::chrono::days(7)) {
      error(at({"proxy", "read_timeout"}),
            fmt::format("read_timeout '{}' must be a duration from 1s to 7d, like 60s or 1h",
                        printable(p.read_timeout)));
    }
    access_rules(p);
    need_role("proxy", p.where, "[proxy]");
  }

  // Several servers: every proxy server's nginx balances over the instances of every
  // app server, on their internal addresses, which the app servers' firewalls open to
  // the proxies. Those addresses must be IPs (a Host alias of ~/.ssh/config means
  // nothing on a server, and nftables takes no names).
  void fleet() {
    std::vector<const Server*> apps, proxies;
    for (const auto& s : m_.servers) {
      if (s.has_role("app")) apps.push_back(&s);
      if (s.has_role("proxy")) proxies.push_back(&s);
    }
    if (m_.proxy) {
      std::set<std::string> told;
      for (const auto* proxy : proxies) {
        for (const auto* app : apps) {
          if (app == proxy) continue;
          for (const auto* s : {app, proxy}) {
            if (util::is_address(s->internal_address()) || !told.insert(s->name).second) continue;
            const auto why = s == app ? fmt::format("proxy server {} reaches its app instances", proxy->name)
                                      : fmt::format("app server {} lets the proxies in", app->name);
            error(at({"servers", s->name, s->private_address.empty() ? "address" : "private_address"}),
                  fmt::format("server {}: {} by address, and '{}' is not an IP address; set "
                              "private_address = \"IP\" (the address the servers reach each other on)",
                              s->name, why, printable(s->internal_address())));
          }
        }
      }
    }
    if (m_.deploy.max_fail > 0 && m_.deploy.max_fail >= static_cast<int>(apps.size())) {
      error(at({"deploy", "max_fail"}),
            fmt::format("max_fail = {} lets every one of the {} app server(s) fail: make it at most {}",
                        m_.deploy.max_fail, apps.size(), apps.empty() ? 0 : apps.size() - 1));
    }
    const auto* batch = root_["deploy"]["batch"].node();
    if (!batch) return;
    const auto where = at({"deploy", "batch"});
    const int count = static_cast<int>(apps.size());
    if (m_.deploy.batch_percent < 0 || m_.deploy.batch_percent > 100 ||
        (batch->is_string() && m_.deploy.batch_percent == 0)) {
      error(where, fmt::format("batch '{}' must be a number of servers or a share like \"25%\" (1% to 100%)",
                               printable(batch->value_or(std::string()))));
    } else if (m_.deploy.batch > count && count > 0) {
      error(where, fmt::format("batch = {} is more than the {} app server(s): a batch of all of them is the "
                               "default; leave batch out or make it at most {}",
                               m_.deploy.batch, count, count));
    }
  }

  void own_certificate(const OwnCertificate& own) {
    const auto at_key = [&](std::string_view k) { return at({"proxy", "tls", k}); };
    value_syntax(own.cert, at_key("cert"), "tls cert");
    value_syntax(own.key, at_key("key"), "tls key");
    const auto refs = parse_references(own.cert);
    if (refs && refs->empty() && !own.cert.starts_with("-----BEGIN ")) {
      error(at_key("cert"), "tls cert must be a PEM certificate (-----BEGIN CERTIFICATE-----) or a "
                            "${secret:NAME} / ${env:NAME} reference to one");
    }
    if (const auto key_refs = parse_references(own.key); key_refs && key_refs->empty()) {
      error(at_key("key"), "tls key must be a ${secret:NAME} or ${env:NAME} reference: a private "
                           "key never belongs in the manifest");
    }
  }

  // A path of [[proxy.access]] or [[proxy.limits]]: it becomes an nginx location.
  bool path_ok(std::string_view path) {
    return path.starts_with('/') && path.size() <= 256 &&
           std::all_of(path.begin(), path.end(), [](char c) {
             return text::is_alnum(c) || std::string_view("/._~-%@:+,=").find(c) != std::string_view::npos;
           });
  }

  void access_rules(const Proxy& p) {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < p.access.size(); ++i) {
      const auto& a = p.access[i];
      const auto where = [&](std::string_view k) { return item_at({"proxy", "access"}, i, k); };
      if (!path_ok(a.path)) {
        error(where("path"), fmt::format("access path '{}' must start with '/' and hold only letters, "
                                         "digits and /._~-%@:+,=",
                                         printable(a.path)));
      } else if (!seen.insert(a.path).second) {
        error(where("path"), fmt::format("a second [[proxy.access]] for path {}: merge them", a.path));
      }
      if (a.allow.empty() && a.users.empty()) {
        error(a.where, "[[proxy.access]] needs allow = [\"CIDR\", ...], users = { name = "
                       "\"${secret:NAME}\" }, or both");
      }
      for (const auto& cidr : a.allow) {
        if (!util::is_cidr(cidr)) {
          error(where("allow"), fmt::format("allow: '{}' is not an address or CIDR", printable(cidr)));
        }
      }
      for (const auto& [user, password] : a.users) {
        const auto user_char = [](char c) {
          return text::is_alnum(c) || std::string_view("._@-").find(c) != std::string_view::npos;
        };
        const auto at_user = item_at({"proxy", "access"}, i, "users");
        if (!text::is_word(user, user_char, user_char, 64)) {
          error(at_user, fmt::format("user name '{}' must be 1-64 letters, digits and ._@-", printable(user)));
        }
        value_syntax(password, at_user, fmt::format("user {}", printable(user)));
        if (const auto refs = parse_references(password); refs && refs->empty()) {
          error(at_user, fmt::format("user {}: the password must be a ${{secret:NAME}} or ${{env:NAME}} "
                                     "reference, not written in the manifest",
                                     printable(user)));
        }
      }
    }
    seen.clear();
    for (std::size_t i = 0; i < p.limits.size(); ++i) {
      const auto& l = p.limits[i];
      const auto where = item_at({"proxy", "limits"}, i, "path");
      if (l.path == "/") {
        error(where, "a limit on path / is the whole site's: set [proxy] rate_limit instead");
      } else if (!path_ok(l.path)) {
        error(where, fmt::format("limit path '{}' must start with '/' and hold only letters, digits "
                                 "and /._~-%@:+,=",
                                 printable(l.path)));
      } else if (!seen.insert(l.path).second) {
        error(where, fmt::format("a second [[proxy.limits]] for path {}: merge them", l.path));
      }
    }
  }

  void jobs() {
    std::map<std::string, Location> names;
    for (std::size_t i = 0; i < m_.jobs.size(); ++i) {
      auto& j = m_.jobs[i];
      if (!j.name.empty()) {
        const auto where = at_item("jobs", i, "name");
        const auto lower_or_digit = [](char c) { return text::is_lower(c) || text::is_digit(c); };
        if (!text::is_word(j.name, lower_or_digit,
                           [&](char c) { return lower_or_digit(c) || c == '_' || c == '-'; })) {
          error(where, fmt::format("job name '{}' must be lowercase letters, digits, '-' and '_' "
                                   "(it names a systemd timer)",
                                   j.name));
        }
        if (auto [it, inserted] = names.emplace(j.name, where); !inserted) {
          error(where, fmt::format("duplicate job name '{}' (first defined at line {})", j.name,
                                   it->second.line));
        }
      }
      if (!j.schedule.empty()) {
        if (auto oc = to_on_calendar(j.schedule)) {
          j.on_calendar = *oc;
        } else {
          error(at_item("jobs", i, "schedule"), fmt::format("job {}: {}", j.name, oc.error()));
        }
      }
      if (j.command.empty() && root_["jobs"][i]["command"].is_string()) {
        error(at_item("jobs", i, "command"), fmt::format("job {} has an empty command", j.name));
      }
      if (!is_time_span(j.timeout)) {
        error(at_item("jobs", i, "timeout"),
              fmt::format("job {}: timeout '{}' is not a time span like 30min or 1h", j.name,
                          j.timeout));
      }
      need_role(j.role, at_item("jobs", i, "role"), fmt::format("job {}", j.name));
    }
  }

  // Each [server_checks] list judges one measure: its conditions name that placeholder.
  void server_checks() {
    const auto& c = m_.server_checks;
    const std::pair<const std::vector<ConditionText>*, std::vector<std::string>> lists[] = {
        {&c.disk, {"DISK_USED"}},
        {&c.memory, {"MEMORY_AVAILABLE"}},
        {&c.load, {"LOAD_PER_CORE"}},
        {&c.certificate, {"CERTIFICATE_EXPIRATION"}},
        {&c.replication, {"REPLICA_LAG_BYTES", "REPLICA_LAG_SECONDS"}},
        {&c.replication_slot, {"SLOT_RETAINED_BYTES"}},
        {&c.backup, {"BACKUP_AGE_HOURS"}},
        {&c.verification, {"VERIFY_RESULT", "VERIFY_AGE_HOURS"}}};
    for (const auto& [list, known] : lists) {
      const auto uses = [&](const std::string& name) {
        return std::find(known.begin(), known.end(), name) != known.end();
      };
      for (const auto& condition : *list) {
        const auto parsed = health::parse_condition(condition.text, known);
        auto where = condition.where;
        if (!parsed) {
          // where is the opening quote; the parser counts from the first character after it.
          where.column += parsed.error().column;
          error(where, fmt::format("condition '{}': {}", condition.text, parsed.error().message));
        } else if (!uses(parsed->left.name) && !uses(parsed->right.name)) {
          error(where, fmt::format("condition '{}' must use [{}]", condition.text, fmt::join(known, "] or [")));
        }
      }
    }
  }

  void health() {
    std::map<std::string, Location> names;
    for (std::size_t i = 0; i < m_.health.size(); ++i) {
      const auto& h = m_.health[i];
      if (!h.name.empty()) {
        const auto where = at_item("health", i, "name");
        if (auto [it, inserted] = names.emplace(h.name, where); !inserted) {
          error(where, fmt::format("duplicate health check name '{}' (first defined at line {})",
                                   h.name, it->second.line));
        }
      }
      if (h.url.empty()) {
        error(h.where, fmt::format("health check '{}' checks nothing: give url = \"/healthz\" (the "
                                   "app on each app server), a full http(s):// URL, or kind = "
                                   "\"tcp\" with url = \"host:port\"",
                                   h.name));
      } else if (h.kind == "http" && !h.url.starts_with('/') && !h.url.starts_with("http://") &&
                 !h.url.starts_with("https://")) {
        error(at_item("health", i, "url"), fmt::format("health check '{}': url '{}' must start with /, http:// or "
                                   "https://",
                                   h.name, h.url));
      } else if (h.kind == "tcp" && !is_host_port(h.url)) {
        error(at_item("health", i, "url"), fmt::format("health check '{}': a tcp url is host:port, not '{}'", h.name,
                                   h.url));
      }
      for (const auto& c : h.conditions) {
        if (auto problem = health::condition_error(c.text)) {
          // c.where is the opening quote; the parser counts from the first character after it.
          auto where = c.where;
          where.column += problem->first;
          error(where, fmt::format("condition '{}': {}", c.text, problem->second));
        }
      }
      const bool http = h.kind == "http";
      if (http && !is_http_method(h.method)) {
        error(at_item("health", i, "method"),
              fmt::format("health check '{}': method '{}' is not an HTTP method like GET or HEAD",
                          h.name, h.method));
      }
      for (const auto& [name, value] : h.headers) {
        if (!is_header_name(name)) {
          error(at_item("health", i, "headers"),
                fmt::format("health check '{}': header '{}' is not a header name (letters, digits "
                            "and '-')",
                            h.name, name));
        }
      }
      for (std::size_t j = 0; j < h.connect_to.size(); ++j) {
        if (!is_connect_to(h.connect_to[j])) {
          error(at_item("health", i, "connect_to"),
                fmt::format("health check '{}': connect_to '{}' is not HOST:PORT:ADDRESS:PORT, "
                            "e.g. app.example.com:443:198.18.0.2:443",
                            h.name, h.connect_to[j]));
        }
      }
      if ((!h.ca_file.empty() || h.insecure) && (!http || h.url.starts_with("http://"))) {
        error(at_item("health", i, h.insecure ? "insecure" : "ca_file"),
              fmt::format("health check '{}': ca_file and insecure are for https checks, and url "
                          "'{}' is not https",
                          h.name, h.url));
      } else if (!h.ca_file.empty() && h.insecure) {
        error(at_item("health", i, "insecure"),
              fmt::format("health check '{}': insecure = true skips the verification ca_file is "
                          "for; keep one",
                          h.name));
      }
      if (!h.ca_file.empty() && !fs::is_regular_file(h.ca_file)) {
        error(at_item("health", i, "ca_file"),
              fmt::format("health check '{}': ca_file {} is not a file (a relative ca_file "
                          "starts at the manifest's folder)",
                          h.name, h.ca_file));
      }
      std::vector<std::pair<const char*, std::string>> spans{{"interval", h.interval},
                                                             {"timeout", h.timeout}};
      if (!h.connect_timeout.empty()) spans.emplace_back("connect_timeout", h.connect_timeout);
      for (const auto& [key, span] : spans) {
        if (!is_time_span(span)) {
          error(at_item("health", i, key), fmt::format("health check '{}': {} '{}' is not a duration like 5s or 1m",
                                     h.name, key, span));
        }
      }
    }
  }

  // A port of the app's instances (either color) written as ":PORT" in `command`.
  std::optional<int> app_port_in(std::string_view command) const {
    for (int port = m_.app.run.port; port < m_.app.run.port + 2 * m_.app.run.instances; ++port) {
      const auto needle = ":" + std::to_string(port);
      for (auto at = command.find(needle); at != std::string_view::npos; at = command.find(needle, at + 1)) {
        const auto end = at + needle.size();
        if (end == command.size() || !text::is_digit(command[end])) return port;
      }
    }
    return std::nullopt;
  }

  void hooks() {
    auto check = [&](const std::vector<Hook>& hooks, std::string_view stage) {
      for (const auto& h : hooks) {
        if (h.command.empty()) error(h.where, fmt::format("{} hook has an empty command", stage));
        if (h.remote && stage == "pre_build") {
          error(h.where, "pre_build hooks run locally, before anything is uploaded: remove "
                         "remote = true or move the hook to pre_deploy");
        }
        if (h.remote) need_role(h.role, h.where, fmt::format("{} hook", stage));
        if (const auto port = app_port_in(h.command); h.remote && port) {
          warning(h.where, fmt::format("{} hook names port {}: blue/green deploys move the app between "
                                       "ports {} and {}, so it answers there only after every other "
                                       "deploy; use $BERTH_PORT (the port of the live instance)",
                                       stage, *port, m_.app.run.port,
                                       m_.app.run.port + 2 * m_.app.run.instances - 1));
        }
      }
    };
    check(m_.hooks.pre_build, "pre_build");
    check(m_.hooks.pre_deploy, "pre_deploy");
    check(m_.hooks.post_deploy, "post_deploy");
  }

  // Values that land in server files: names checked against what their target accepts,
  // free text against what no encoding can carry (NUL anywhere; a line break in a
  // header). Every bad value is reported, each at its place (docs/security.md).
  void values() {
    const auto env_name = [](std::string_view s) {
      const auto first = [](char c) { return text::is_alpha(c) || c == '_'; };
      return text::is_word(s, first, [&](char c) { return first(c) || text::is_digit(c); }, 255);
    };
    const auto has_nul = [](std::string_view s) { return s.find('\0') != std::string_view::npos; };
    const auto control = [](std::string_view s) {
      return std::any_of(s.begin(), s.end(), [](char c) {
        return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
      });
    };
    const auto& run = m_.app.run;
    for (const auto& [name, value] : run.env) {
      const auto where = at({"app", "run", "env", name});
      if (!env_name(name)) {
        error(where, fmt::format("env name '{}' must be letters, digits and '_', not starting with a digit "
                                 "(systemd drops other names)",
                                 printable(name)));
      }
      if (has_nul(value)) error(where, fmt::format("env {}: a value cannot hold a NUL character", printable(name)));
      if (name.size() + value.size() + 2 > max_env_string) {
        error(where, fmt::format("env {}: NAME=value is {} bytes; Linux starts no process with an "
                                 "environment string over {} bytes",
                                 printable(name), name.size() + value.size() + 2, max_env_string));
      }
    }
    for (const auto& s : run.secrets) {
      if (!env_name(s.name)) {
        error(s.where, fmt::format("secret name '{}' must be letters, digits and '_', not starting with a "
                                   "digit (it becomes an environment variable)",
                                   printable(s.name)));
      }
      if (has_nul(s.value)) error(s.where, fmt::format("secret {}: a value cannot hold a NUL character", printable(s.name)));
    }
    const auto sql_name = [](std::string_view s) {
      const auto first = [](char c) { return text::is_alpha(c) || c == '_'; };
      return text::is_word(s, first, [&](char c) { return first(c) || text::is_digit(c) || c == '-'; }, 63);
    };
    for (const auto& d : m_.databases) {
      for (const auto& [key, value] : {std::pair<std::string_view, const std::string&>{"name", d.name}, {"user", d.user}}) {
        if (!sql_name(value)) {
          error(at({"databases", d.key, key}),
                fmt::format("[databases.{}] {} '{}' must be 1-63 letters, digits, '_' and '-', starting with a "
                            "letter or '_'",
                            d.key, key, printable(value)));
        }
      }
      if (!env_name(d.env_var)) {
        error(at({"databases", d.key, "env_var"}),
              fmt::format("[databases.{}] env_var '{}' must be letters, digits and '_', not starting with a digit",
                          d.key, printable(d.env_var)));
      }
    }
    if (m_.proxy) {
      const auto header_char = [](char c) { return text::is_alnum(c) || c == '-'; };
      for (const auto& [name, value] : m_.proxy->headers) {
        const auto where = at({"proxy", "headers", name});
        if (!text::is_word(name, header_char, header_char, 64)) {
          error(where, fmt::format("header name '{}' must be letters, digits and '-'", printable(name)));
        }
        if (control(value)) {
          error(where, fmt::format("header {}: a value is one line of text: CR, LF and other control "
                                   "characters would split the response",
                                   printable(name)));
        }
      }
      for (const auto& bot : m_.proxy->bot_user_agents) {
        if (bot.empty() || control(bot)) {
          error(at({"proxy", "bot_user_agents"}),
                fmt::format("bot_user_agents: '{}' must be non-empty text without control characters",
                            printable(bot)));
        }
      }
      if (!m_.proxy->acme_email.empty() && !is_email(m_.proxy->acme_email)) {
        error(at({"proxy", "acme_email"}), fmt::format("acme_email '{}' is not an e-mail address", printable(m_.proxy->acme_email)));
      }
    }
    const auto& tz = m_.base.timezone;
    const auto zone_char = [](char c) { return text::is_alnum(c) || c == '_' || c == '+' || c == '-'; };
    bool zone_ok = !tz.empty() && tz.size() <= 64;
    for (std::size_t pos = 0; zone_ok && pos <= tz.size();) {
      auto slash = tz.find('/', pos);
      if (slash == std::string::npos) slash = tz.size();
      zone_ok = text::is_word(std::string_view(tz).substr(pos, slash - pos), zone_char, zone_char);
      pos = slash + 1;
    }
    if (!zone_ok) {
      error(at({"base", "timezone"}),
            fmt::format("timezone '{}' is not a zone name like UTC or Europe/Berlin", printable(tz)));
    }
    if (!text::is_size(m_.base.journald_max_use, "KMGTPE", false)) {
      error(at({"base", "journald_max_use"}),
            fmt::format("journald_max_use '{}' is not a size like 500M or 2G", printable(m_.base.journald_max_use)));
    }
    for (const auto& key : m_.base.ssh_keys) {
      if (control(key) || !(key.starts_with("ssh-") || key.starts_with("ecdsa-") || key.starts_with("sk-"))) {
        error(at({"base", "ssh_keys"}),
              fmt::format("ssh_keys: '{}' is not one public key line (ssh-ed25519 AAAA... comment)",
                          printable(key.substr(0, 40))));
      }
    }
    const auto build_dir = std::filesystem::path(m_.app.build.dir).lexically_normal();
    if (build_dir.is_absolute() || *build_dir.begin() == "..") {
      error(at({"app", "build", "dir"}),
            fmt::format("[app.build] dir '{}' must be a folder inside the project (relative to berth.toml, "
                        "without ..)",
                        printable(m_.app.build.dir)));
    }
    for (std::size_t i = 0; i < m_.health.size(); ++i) {
      if (!is_url_text(m_.health[i].url)) {
        error(at_item("health", i, "url"),
              fmt::format("health check '{}': url '{}' holds characters a URL cannot (spaces, quotes, "
                          "control characters, <>\\^`{{|}}); percent-encode them",
                          m_.health[i].name, printable(m_.health[i].url)));
      }
    }
  }

  void base() {
    const auto& swap = m_.base.swap;
    if (swap != "auto" && swap != "off" && !text::is_size(swap, "KMGkmg", true)) {
      error(at({"base", "swap"}),
            fmt::format("swap '{}' must be auto, off or a size like 1G", m_.base.swap));
    }
    const auto user_start = [](char c) { return text::is_lower(c) || c == '_'; };
    const auto user_rest = [&](char c) { return user_start(c) || text::is_digit(c) || c == '-'; };
    if (!text::is_word(m_.base.deploy_user, user_start, user_rest, 32)) {
      error(at({"base", "deploy_user"}),
            fmt::format("deploy_user '{}' is not a valid unix user name", m_.base.deploy_user));
    }
  }

  Manifest& m_;
  const toml::table& root_;
  const std::string& file_;
  std::vector<Diagnostic>& out_;
};

}  // namespace

LoadResult load(const std::string& path, const std::string& env) {
  LoadResult result;
  auto& diags = result.diagnostics;
  auto root = parse_file(path, diags, " (run `berth init` to write one, or pass -f PATH)");
  if (!root) return result;
  if (!env.empty()) {
    const auto env_char = [](char c) { return text::is_alnum(c) || c == '_' || c == '-'; };
    if (!text::is_word(env, env_char, env_char)) {
      diags.push_back({{path, 0, 0}, Severity::error,
                       fmt::format("-e '{}': an environment name is letters, digits, '-' and '_'",
                                   env)});
      return result;
    }
    const auto overlay_path =
        (fs::path(path).parent_path() / fmt::format("berth.{}.toml", env)).string();
    auto overlay = parse_file(overlay_path, diags,
                              fmt::format(" (-e {} reads berth.{}.toml next to {})", env, env, path));
    if (!overlay) return result;
    merge(*root, std::move(*overlay));
  }

  check_structure(*root, manifest_schema(), path, diags);
  Manifest m = Builder(path).build(*root);
  m.path = fs::absolute(path);
  m.dir = m.path.parent_path();
  for (auto& h : m.health) {
    if (!h.ca_file.empty()) h.ca_file = (m.dir / h.ca_file).lexically_normal().string();
  }
  Validator(m, *root, path, diags).run();

  std::stable_sort(diags.begin(), diags.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.where.file, a.where.line, a.where.column) <
           std::tie(b.where.file, b.where.line, b.where.column);
  });
  const bool has_error = std::any_of(diags.begin(), diags.end(), [](const Diagnostic& d) {
    return d.severity == Severity::error;
  });
  if (!has_error) result.manifest = std::move(m);
  return result;
}

Manifest load_or_throw(const std::string& path, const std::string& env,
                       std::vector<Diagnostic>* warnings) {
  auto result = load(path, env);
  std::string errors;
  int count = 0;
  for (const auto& d : result.diagnostics) {
    if (d.severity == Severity::error) {
      errors += "\n  " + d.to_string();
      ++count;
    } else if (warnings) {
      warnings->push_back(d);
    }
  }
  if (!result.manifest) {
    throw Error(fmt::format("{} is invalid ({} error{}):{}", path, count, count == 1 ? "" : "s",
                            errors),
                ExitCode::failure, "fix the manifest; `berth check` lists every problem");
  }
  return std::move(*result.manifest);
}

std::vector<const Server*> select_servers(const Manifest& manifest,
                                          const std::vector<std::string>& hosts,
                                          const std::vector<std::string>& roles) {
  std::vector<std::string> names;
  for (const auto& s : manifest.servers) names.push_back(s.name);
  for (const auto& h : hosts) {
    if (!manifest.find_server(h)) {
      auto hint = closest_match(h, names);
      throw Error(fmt::format("unknown server '{}' in --hosts (servers: {})", h, fmt::join(names, ", ")),
                  ExitCode::usage, hint ? fmt::format("did you mean '{}'?", *hint) : "");
    }
  }
  for (const auto& r : roles) {
    if (std::find(all_roles.begin(), all_roles.end(), r) == all_roles.end()) {
      throw Error(fmt::format("unknown role '{}' in --role (roles: db, app, proxy, backup)", r),
                  ExitCode::usage);
    }
  }
  std::vector<const Server*> selected;
  for (const auto& s : manifest.servers) {
    const bool named = hosts.empty() || std::find(hosts.begin(), hosts.end(), s.name) != hosts.end();
    const bool has_role = roles.empty() || std::any_of(roles.begin(), roles.end(), [&](const auto& r) {
                            return s.has_role(r);
                          });
    if (named && has_role) selected.push_back(&s);
  }
  if (selected.empty()) {
    throw Error(fmt::format("no server matches --hosts {} --role {}", fmt::join(hosts, ","),
                            fmt::join(roles, ",")),
                ExitCode::usage, "`berth check` lists the servers and their roles");
  }
  return selected;
}

}  // namespace berth::manifest
