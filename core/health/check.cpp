#include <core/health/check.hpp>
#include <core/layout/layout.hpp>
#include <core/manifest/load.hpp>
#include <core/util/duration.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace berth::health {

CheckResult judge(std::string host, std::string name, std::string kind, std::string target,
                  std::span<const Condition> conditions, const Observation& observation,
                  std::string error, std::chrono::milliseconds duration,
                  std::vector<std::string> details) {
  CheckResult r{std::move(host), std::move(name), std::move(kind), std::move(target), true,
                std::move(error), {}, duration, std::move(details)};
  for (const auto& c : conditions) {
    auto e = evaluate(c, observation);
    if (!e.ok && !r.error.empty() && e.observed.starts_with("(missing")) e.observed = r.error;
    r.ok = r.ok && e.ok;
    r.conditions.push_back({c.text, e.ok, std::move(e.observed)});
  }
  if (conditions.empty()) r.ok = r.error.empty();
  return r;
}

namespace {

// Collects every problem of the [[health]] checks before failing, with its place.
class Problems {
 public:
  void add(const manifest::Location& where, std::string message) {
    lines_.push_back(fmt::format("{}:{}:{}: error: {}", where.file, where.line, where.column, message));
  }
  void throw_if_any() const {
    if (lines_.empty()) return;
    std::string text = "invalid health checks:";
    for (const auto& l : lines_) text += "\n  " + l;
    throw Error(text, ExitCode::failure, "fix the [[health]] entries of the manifest");
  }

 private:
  std::vector<std::string> lines_;
};

std::chrono::milliseconds duration_or(const std::string& text, std::chrono::milliseconds fallback,
                                      std::string_view what, const manifest::HealthCheck& h, Problems& problems) {
  if (text.empty()) return fallback;
  auto d = util::parse_duration(text);
  if (d) return *d;
  problems.add(h.where, fmt::format("health check '{}': {} '{}': {}", h.name, what, text, d.error().message));
  return fallback;
}

std::string url_host(std::string_view url) {
  auto rest = url.substr(url.find("://") == std::string_view::npos ? 0 : url.find("://") + 3);
  rest = rest.substr(0, rest.find('/'));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  if (rest.starts_with('[')) return std::string(rest.substr(0, rest.find(']') + 1));
  return std::string(rest.substr(0, rest.find(':')));
}

std::string bracketed(const std::string& address) {
  return address.find(':') != std::string::npos ? "[" + address + "]" : address;
}

// The probe of a relative-URL check on `server`.
void target_server(Probe& p, const manifest::Manifest& m, const manifest::Server& server, const std::string& path) {
  const std::string address = bracketed(server.address);
  if (!m.proxy) {
    p.target = fmt::format("http://{}:{}{}", address, m.app.run.port, path);
    return;
  }
  const bool tls = m.proxy->tls != manifest::Tls::off;
  const int port = tls ? 443 : 80;
  const std::string scheme = tls ? "https" : "http";
  // berth made that certificate itself: nothing can verify it but the server.
  if (m.proxy->tls == manifest::Tls::self_signed && p.ca_file.empty()) p.tls_verify = TlsVerify::skip;
  if (m.proxy->domains.empty()) {
    p.target = fmt::format("{}://{}{}", scheme, address, path);
    return;
  }
  const auto& domain = m.proxy->domains.front();
  p.target = fmt::format("{}://{}{}", scheme, domain, path);
  p.connect_to.push_back(fmt::format("{}:{}:{}:{}", domain, port, address, port));
}

}  // namespace

bool checks_each_server(const manifest::HealthCheck& check) {
  return check.kind != "tcp" && check.url.starts_with('/');
}

bool matches_only(const std::vector<std::string>& only, std::string_view name) {
  if (only.empty()) return true;
  return std::any_of(only.begin(), only.end(), [&](const std::string& o) {
    return name == o || (name.size() > o.size() && name.starts_with(o) && name[o.size()] == ':');
  });
}

std::vector<LocalCheck> plan_local_checks(const manifest::Manifest& m, const Selection& selection) {
  std::vector<std::string> names;
  for (const auto& h : m.health) names.push_back(h.name);
  names.insert(names.end(), selection.other_names.begin(), selection.other_names.end());
  for (const auto& only : selection.only) {
    // Certificates are found on the server: any cert:FILE may exist there.
    const bool known = only == "cert" || only.starts_with("cert:") ||
                       std::any_of(names.begin(), names.end(), [&](const auto& n) { return matches_only({only}, n); });
    if (!known) {
      throw Error(fmt::format("no health check named '{}' (checks: {})", only, fmt::join(names, ", ")),
                  ExitCode::usage);
    }
  }

  Problems problems;
  std::vector<LocalCheck> checks;
  std::vector<const manifest::Server*> servers;
  bool servers_selected = false;
  for (const auto& h : m.health) {
    if (!matches_only(selection.only, h.name)) continue;
    LocalCheck base;
    base.name = h.name;
    base.kind = h.kind;
    for (const auto& c : h.conditions) {
      auto parsed = parse_condition(c.text);
      if (parsed) {
        base.conditions.push_back(std::move(*parsed));
        continue;
      }
      auto where = c.where;
      // where points at the opening quote of the TOML string: column k of the text is where + k.
      where.column = where.column > 0 ? where.column + parsed.error().column : parsed.error().column;
      problems.add(where, fmt::format("condition '{}': {}", c.text, parsed.error().message));
    }
    if (h.conditions.empty()) {
      base.conditions.push_back(*parse_condition(h.kind == "tcp" ? "[CONNECTED] == true" : "[STATUS] < 400"));
    }
    Probe& p = base.probe;
    p.kind = h.kind == "tcp" ? ProbeKind::tcp : ProbeKind::http;
    p.method = h.method;
    for (const auto& [key, value] : h.headers) p.headers.push_back(key + ": " + value);
    p.connect_to = h.connect_to;
    if (!h.ca_file.empty()) p.ca_file = (m.dir / h.ca_file).string();
    if (h.insecure) p.tls_verify = TlsVerify::skip;
    p.timeout = duration_or(h.timeout, std::chrono::seconds(10), "timeout", h, problems);
    p.connect_timeout = duration_or(h.connect_timeout, std::min<std::chrono::milliseconds>(p.timeout, std::chrono::seconds(5)),
                                    "connect_timeout", h, problems);
    base.interval = duration_or(h.interval, std::chrono::seconds(5), "interval", h, problems);
    base.success_threshold = std::max(1, h.success_threshold);

    if (checks_each_server(h)) {
      if (!servers_selected) {
        std::vector<std::string> roles = selection.roles;
        if (roles.empty()) roles.push_back(m.proxy ? "proxy" : "app");
        servers = manifest::select_servers(m, selection.hosts, roles);
        servers_selected = true;
      }
      for (const auto* server : servers) {
        LocalCheck c = base;
        c.host = server->name;
        target_server(c.probe, m, *server, h.url);
        if (const auto token = selection.check_tokens.find(server->name); m.proxy && token != selection.check_tokens.end()) {
          c.probe.headers.push_back(fmt::format("{}: {}", layout::check_header, token->second));
        }
        checks.push_back(std::move(c));
      }
      continue;
    }
    p.target = h.url;
    base.host = url_host(h.kind == "tcp" ? "tcp://" + h.url : h.url);
    checks.push_back(std::move(base));
  }
  problems.throw_if_any();
  return checks;
}

std::expected<std::vector<CheckResult>, Error> run_local_checks(std::span<const LocalCheck> checks) {
  std::vector<Probe> probes;
  probes.reserve(checks.size());
  for (const auto& c : checks) probes.push_back(c.probe);
  auto observed = run_probes(probes);
  if (!observed) return std::unexpected(observed.error());
  std::vector<CheckResult> results;
  results.reserve(checks.size());
  for (std::size_t i = 0; i < checks.size(); ++i) {
    auto& o = (*observed)[i];
    results.push_back(judge(checks[i].host, checks[i].name, checks[i].kind, checks[i].probe.target,
                            checks[i].conditions, o.observation, std::move(o.error), o.duration));
  }
  return results;
}

std::vector<CheckResult> run_round(std::span<const LocalCheck> checks, const ServerChecks& server_checks) {
  auto local = run_local_checks(checks);
  if (!local) throw local.error();
  auto results = std::move(*local);
  if (server_checks) {
    for (auto& r : server_checks()) results.push_back(std::move(r));
  }
  std::stable_sort(results.begin(), results.end(), [](const CheckResult& a, const CheckResult& b) {
    return a.host < b.host;
  });
  return results;
}

}  // namespace berth::health
