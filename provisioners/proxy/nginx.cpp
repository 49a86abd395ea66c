// proxy: nginx in front of the app instances: TLS, redirect, security headers, per-IP
// rate limits answering 429, a user-agent block list answering 403, body limit, gzip.
#include <core/render.hpp>
#include <provisioners/provisioner.hpp>

#include <fmt/format.h>

namespace berth::provisioners {

using namespace converge;

namespace {

// User agents of scrapers and vulnerability scanners, matched case-insensitively.
constexpr const char* default_bad_bots[] = {
    "sqlmap", "nikto", "nmap", "masscan", "zgrab", "nuclei", "dirbuster", "gobuster",
    "wpscan", "python-requests", "Go-http-client", "libwww-perl", "MJ12bot", "AhrefsBot",
    "SemrushBot", "DotBot", "PetalBot", "Bytespider"};

std::string regex_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

void add_proxy(const manifest::Manifest& m, const manifest::Server& server, Desired& out) {
  const auto& proxy = *m.proxy;
  const auto& app = m.app.name;
  auto& r = out.resources;
  const bool tls = proxy.tls != manifest::Tls::off;
  const auto cert = fmt::format("/etc/berth/tls/{}.crt", app);
  const auto key = fmt::format("/etc/berth/tls/{}.key", app);

  r.push_back(make(Package{"nginx"}, "nginx"));
  if (tls) r.push_back(make(Package{"openssl"}, "nginx"));

  if (proxy.tls == manifest::Tls::self_signed) {
    // A self-signed certificate for staging and sandboxes, made once on the server.
    std::string names;
    for (const auto& d : proxy.domains) names += (names.empty() ? "DNS:" : ",DNS:") + d;
    const bool ip = !server.address.empty() &&
                    server.address.find_first_not_of("0123456789.") == std::string::npos;
    if (ip) names += (names.empty() ? "IP:" : ",IP:") + server.address;
    const auto cn = proxy.domains.empty() ? server.address : proxy.domains.front();
    auto command = make(
        Command{.run = fmt::format(
                    "mkdir -p /etc/berth/tls && openssl req -x509 -newkey rsa:2048 -nodes "
                    "-days 825 -subj '/CN={}' {} -keyout {} -out {} 2>&1 && chmod 0600 {}",
                    cn, names.empty() ? "" : "-addext 'subjectAltName=" + names + "'", key, cert,
                    key),
                .creates = cert},
        "nginx", {"reload:nginx.service"});
    command.stage = Stage::layout;
    r.push_back(std::move(command));
  }

  // Debian's default site claims default_server on port 80.
  auto no_default = make(Command{.run = "rm -f /etc/nginx/sites-enabled/default",
                                 .unless = "[ ! -e /etc/nginx/sites-enabled/default ]"},
                         "nginx", {"reload:nginx.service"});
  no_default.stage = Stage::config;
  r.push_back(std::move(no_default));

  kainjow::mustache::data d;
  d.set("app", app);
  d.set("server_names", proxy.domains.empty() ? std::string("_") : [&] {
    std::string names;
    for (const auto& n : proxy.domains) names += (names.empty() ? "" : " ") + n;
    return names;
  }());
  d.set("upstream_file", upstream_file(m));
  d.set("tls", tls);
  d.set("cert", cert);
  d.set("key", key);
  d.set("max_body", proxy.max_body);
  if (proxy.rate_limit) {
    kainjow::mustache::data rl;
    rl.set("rps", std::to_string(proxy.rate_limit->requests_per_second));
    rl.set("burst", std::to_string(proxy.rate_limit->burst));
    if (proxy.rate_limit->connections > 0) {
      rl.set("connections", std::to_string(proxy.rate_limit->connections));
    }
    d.set("rate_limit", rl);
  }
  if (proxy.block_bots) {
    std::string pattern;
    for (const char* bot : default_bad_bots) pattern += (pattern.empty() ? "" : "|") + regex_escape(bot);
    for (const auto& bot : proxy.bot_user_agents) pattern += "|" + regex_escape(bot);
    d.set("bad_bots", pattern);
  }
  kainjow::mustache::data headers{kainjow::mustache::data::type::list};
  for (const auto& [name, value] : proxy.headers) {
    kainjow::mustache::data h;
    h.set("name", name);
    h.set("value", value);
    headers.push_back(h);
  }
  d.set("headers", headers);

  // Blue is live until the first deploy; from then on deploys own this file.
  r.push_back(make(File{.path = upstream_file(m), .content = upstream_content(app_ports(m)),
                        .overwrite = Overwrite::no},
                   "nginx"));
  r.push_back(make(File{.path = fmt::format("/etc/nginx/sites-enabled/{}.conf", app),
                        .content = render_template(m.dir, "nginx/site.conf.mustache", d),
                        .validate = "nginx -t"},
                   "nginx", {"reload:nginx.service"}));
  r.push_back(make(Unit{"nginx.service"}, "nginx"));
}

}  // namespace berth::provisioners
