// proxy: nginx in front of the app instances: TLS, redirect, security headers, per-IP
// rate limits answering 429, a user-agent block list answering 403, body limit, gzip,
// and a fail2ban jail for floods of 4xx answers; WebSockets and streamed responses
// pass; the client's address from trusted proxies (a CDN); access rules (addresses,
// basic-auth users) and request limits per path; a maintenance page toggled by
// `berth maintenance` (core/maintenance.hpp).
// TLS is the operator's own certificate, self-signed, or Let's Encrypt (any ACME server) by HTTP-01 through certbot's
// webroot: nginx starts on a self-signed bootstrap certificate at the paths the site
// names; once certbot has issued, those paths become links into certbot's live folder,
// checked with `nginx -t` (and put back when it fails) before nginx reloads.
#include <core/render.hpp>
#include <core/util/duration.hpp>
#include <core/util/encode.hpp>
#include <core/util/net.hpp>
#include <core/util/password.hpp>
#include <core/util/text.hpp>
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

using util::regex_escape;

// fail2ban thresholds for the app's access log: an address that gets more than
// `maxretry` 4xx answers in `findtime` is banned for `bantime`. 2 a second for a minute
// is far above what a browser provokes, far below what a scanner or flood sends.
constexpr int f2b_maxretry = 120;
constexpr const char* f2b_findtime = "60s";
constexpr const char* f2b_bantime = "10m";

// certbot: obtain the certificate (once per set of domains and ACME server), then
// point nginx's certificate paths at it. Its guard holds while the marker file names
// the same domains and server and the paths are links.
Resource certbot_issue(const manifest::Proxy& proxy, const std::string& app,
                       const std::string& cert, const std::string& key,
                       const std::string& env_file) {
  using util::shell_quote;
  const auto live = "/etc/letsencrypt/live/" + app;
  const auto marker = fmt::format("/etc/berth/tls/{}.acme", app);
  std::string want = proxy.acme_directory.empty() ? "letsencrypt" : proxy.acme_directory;
  std::string domains, domains_text;
  for (const auto& d : proxy.domains) {
    want += " " + d;
    domains += " -d " + shell_quote(d);
    domains_text += " " + d;
  }
  const auto run = fmt::format(
      "set -e; set -a; . {env}; set +a\n"
      "certbot certonly --non-interactive --agree-tos --no-eff-email --email {email} "
      "--webroot -w /var/www/letsencrypt --cert-name {app} --keep-until-expiring --expand{server}"
      "{domains} 2>&1 || {{ echo 'certbot could not get a certificate for{domains_text}: do they "
      "resolve to this host, is its port 80 open, can it reach the ACME server?'; exit 1; }}\n"
      "if [ ! -L {cert} ]; then cp -p {cert} {cert}.bootstrap; cp -p {key} {key}.bootstrap; fi\n"
      "ln -sfn {live}/fullchain.pem {cert}.berth-new && mv -fT {cert}.berth-new {cert}\n"
      "ln -sfn {live}/privkey.pem {key}.berth-new && mv -fT {key}.berth-new {key}\n"
      "if ! nginx -t 2>&1; then\n"
      "  mv -fT {cert}.bootstrap {cert}; mv -fT {key}.bootstrap {key}\n"
      "  echo 'nginx -t failed with the issued certificate: put the bootstrap one back'; exit 1\n"
      "fi\n"
      "printf '%s\\n' {want} > {marker}",
      fmt::arg("env", shell_quote(env_file)), fmt::arg("email", shell_quote(proxy.acme_email)),
      fmt::arg("app", shell_quote(app)),
      fmt::arg("server", proxy.acme_directory.empty()
                             ? std::string()
                             : " --server " + shell_quote(proxy.acme_directory)),
      fmt::arg("domains", domains), fmt::arg("domains_text", domains_text), fmt::arg("cert", cert),
      fmt::arg("key", key), fmt::arg("live", live), fmt::arg("want", shell_quote(want)),
      fmt::arg("marker", marker));
  auto command =
      make(Command{.run = run,
                   .unless = fmt::format("[ -L {} ] && [ \"$(cat {} 2>/dev/null)\" = {} ]", cert,
                                         marker, shell_quote(want))},
           "nginx", {"reload:nginx.service"});
  command.stage = Stage::data;
  return command;
}

// A resolved manifest value, its text whatever its origin (for files written 0600).
std::string resolved_text(const std::string& value, manifest::SecretSources& secrets) {
  auto resolved = manifest::resolve_value(value, secrets);
  if (!resolved) throw resolved.error();
  return std::string(resolved->reveal());
}

// The real-IP module's settings for [proxy] trusted_proxies: the address ranges whose
// header is believed, "cloudflare" standing for its published ranges.
std::string real_ip_conf(const manifest::Manifest& m) {
  const auto& proxy = *m.proxy;
  std::string out = "# Managed by berth: [proxy] trusted_proxies.\n";
  for (const auto& entry : proxy.trusted_proxies) {
    if (entry != "cloudflare") {
      out += fmt::format("set_real_ip_from {};\n", entry);
      continue;
    }
    const auto list = render_template(m.dir, "nginx/cloudflare-ips.mustache", {});
    for (const auto line : util::lines(list)) {
      const auto range = util::trim(line);
      if (range.empty() || range.starts_with('#')) continue;
      if (!util::is_cidr(range)) {
        throw Error(fmt::format("templates/nginx/cloudflare-ips.mustache: '{}' is not an address range",
                                range));
      }
      out += fmt::format("set_real_ip_from {};\n", range);
    }
  }
  const bool cloudflare_alone =
      proxy.trusted_proxies.size() == 1 && proxy.trusted_proxies.front() == "cloudflare";
  const auto header = !proxy.real_ip_header.empty() ? proxy.real_ip_header
                      : cloudflare_alone            ? std::string("CF-Connecting-IP")
                                                    : std::string("X-Forwarded-For");
  // Recursive: in X-Forwarded-For, the last address that is not a trusted proxy.
  out += fmt::format("real_ip_header {};\nreal_ip_recursive on;\n", header);
  return out;
}

// The validation of the own certificate's file before nginx may load it: a PEM
// certificate still valid, the key belonging to it, every domain covered.
std::string own_certificate_check(const manifest::Proxy& proxy) {
  std::string check =
      "f={}\n"
      "openssl x509 -in \"$f\" -noout -checkend 0 >/dev/null 2>&1 || { echo '[proxy] tls cert: not a "
      "PEM certificate, or it has expired'; exit 1; }\n"
      "[ -n \"$(openssl pkey -in \"$f\" -pubout 2>/dev/null)\" ] || { echo '[proxy] tls key: not a PEM "
      "private key'; exit 1; }\n"
      "[ \"$(openssl x509 -in \"$f\" -noout -pubkey 2>/dev/null)\" = \"$(openssl pkey -in \"$f\" -pubout "
      "2>/dev/null)\" ] || { echo '[proxy] tls key: it is not the key of the certificate'; exit 1; }\n";
  for (const auto& domain : proxy.domains) {
    // A wildcard domain is covered when a name under it is.
    const auto name = domain.starts_with("*.") ? "berth-check" + domain.substr(1) : domain;
    check += fmt::format(
        "openssl x509 -in \"$f\" -noout -checkhost {0} 2>/dev/null | grep -q 'does match' || {{ echo "
        "'[proxy] tls cert: it does not cover {1}'; exit 1; }}\n",
        util::shell_quote(name), domain);
  }
  return check + "nginx -t";
}

// nginx's data for one [[proxy.access]] rule: the variable that refuses an address
// outside its allowlist (named `name`), and its users' file.
kainjow::mustache::data access_data(const std::string& app, const manifest::Access& access, const std::string& name,
                                    const std::string& users_file) {
  kainjow::mustache::data d;
  if (!access.allow.empty()) d.set("refused", fmt::format("{}_refused_{}", app, name));
  if (!access.users.empty()) {
    d.set("auth_file", users_file);
  }
  return d;
}

// The basic-auth users of `access` in htpasswd form, hashed here (SHA-512 crypt) so
// that no password leaves this machine.
std::string users_content(const manifest::Manifest& m, const manifest::Access& access,
                          manifest::SecretSources& secrets) {
  std::string out;
  for (const auto& [user, password] : access.users) {
    const auto seed = fmt::format("berth basic auth\n{}\n{}\n{}", m.app.name, access.path, user);
    out += user + ":" + util::sha512_crypt(resolved_text(password, secrets), seed) + "\n";
  }
  return out;
}

// The upstream files of the app servers on other hosts (layout::upstream_fragment):
// until a deploy writes them, blue, with green as backup (a proxy added to a fleet
// whose app servers serve green still reaches them, until the next deploy or rollback
// aligns it); an app server's new address replaces the old one and keeps the ports
// (its live color); the files of servers that are no longer app servers go.
void add_remote_upstreams(const manifest::Manifest& m, const std::vector<const manifest::Server*>& apps,
                          std::vector<converge::Resource>& r) {
  if (apps.empty()) return;  // a site without upstream_dir includes none of them
  const auto dir = layout::upstream_dir(m);
  r.push_back(make(Directory{.path = dir}, "nginx"));
  std::string keep;
  for (const auto* app : apps) keep += fmt::format(" -e {}", util::shell_quote(app->name + ".conf"));
  const auto stale = fmt::format("ls -A {} 2>/dev/null | grep '[.]conf$' | grep -vxF{}", util::shell_quote(dir), keep);
  r.push_back(make(Command{.name = "upstream-stale:" + m.app.name,
                           .run = fmt::format("cd {} && {} | xargs -r rm -f --", util::shell_quote(dir), stale),
                           .unless = fmt::format("[ -z \"$({})\" ]", stale)},
                   "nginx", {"reload:nginx.service"}));
  for (const auto* app : apps) {
    const auto file = layout::upstream_fragment(m, *app);
    r.push_back(make(File{.path = file, .content = upstream_content(app->internal_address(), app_ports(m),
                                                                app_ports(m, Color::green)),
                          .overwrite = Overwrite::no},
                     "nginx", {"reload:nginx.service"}));
    const auto host = layout::upstream_host(app->internal_address());
    r.push_back(make(Command{.name = fmt::format("upstream-address:{}:{}", m.app.name, app->name),
                             .run = fmt::format("sed -i -E 's/^server [^ ]+:([0-9]+) /server {}:\\1 /' {}",
                                                host, util::shell_quote(file)),
                             .unless = fmt::format("[ ! -f {0} ] || grep -qF {1} {0}", util::shell_quote(file),
                                                   util::shell_quote("server " + host + ":"))},
                     "nginx", {"reload:nginx.service"}));
  }
}

}  // namespace

void add_proxy(const manifest::Manifest& m, const manifest::Server& server,
               manifest::SecretSources& secrets, Desired& out) {
  const auto& proxy = *m.proxy;
  const auto& app = m.app.name;
  auto& r = out.resources;
  const bool tls = proxy.tls != manifest::Tls::off;
  const bool own = proxy.tls == manifest::Tls::own;
  // The own certificate's chain and key share one root-only file (nginx reads each
  // from it), so that they change together and are validated together.
  const auto own_pem = fmt::format("/etc/berth/tls/{}.pem", app);
  const auto cert = own ? own_pem : fmt::format("/etc/berth/tls/{}.crt", app);
  const auto key = own ? own_pem : fmt::format("/etc/berth/tls/{}.key", app);
  const auto nginx_dir = fmt::format("/etc/nginx/berth/{}", app);

  const bool acme = proxy.tls == manifest::Tls::letsencrypt;
  const auto acme_env = fmt::format("/etc/berth/tls/{}.certbot.env", app);
  const auto access_log = fmt::format("/var/log/nginx/{}.access.log", app);
  const auto headers_file = config_dir(m) + "/headers.conf";

  r.push_back(make(Package{"nginx"}, "nginx"));
  // A reload returns before the old workers stop taking connections: wait for them,
  // so that the run ends with the new configuration served.
  out.handler_scripts["reload:nginx.service"] =
      "systemctl is-active -q nginx.service || return 0\n" + layout::nginx_reload("return 1");
  if (tls) r.push_back(make(Package{"openssl"}, "nginx"));
  if (acme) r.push_back(make(Package{"certbot"}, "nginx"));

  if (own) {
    auto pem = resolved_text(proxy.certificate->cert, secrets);
    if (!pem.ends_with('\n')) pem += '\n';
    pem += resolved_text(proxy.certificate->key, secrets);
    if (!pem.ends_with('\n')) pem += '\n';
    r.push_back(make(Directory{.path = "/etc/berth/tls", .mode = "0755"}, "nginx"));
    r.push_back(make(File{.path = own_pem, .content = pem, .mode = "0600", .sensitive = Sensitive::yes,
                          .validate = own_certificate_check(proxy)},
                     "nginx", {"reload:nginx.service"}));
  } else if (tls) {
    // A self-signed certificate for staging and sandboxes, made once on the server;
    // with Let's Encrypt, the bootstrap one nginx serves until certbot has issued.
    std::string names;
    for (const auto& d : proxy.domains) names += (names.empty() ? "DNS:" : ",DNS:") + d;
    const bool ip = !server.address.empty() &&
                    server.address.find_first_not_of("0123456789.") == std::string::npos;
    if (ip) names += (names.empty() ? "IP:" : ",IP:") + server.address;
    const auto cn = proxy.domains.empty() ? server.address : proxy.domains.front();
    const auto make_cert = fmt::format(
        "mkdir -p /etc/berth/tls && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-days 825 -subj '/CN={}' {} -keyout {} -out {} 2>&1 && chmod 0600 {}",
        cn, names.empty() ? "" : "-addext 'subjectAltName=" + names + "'", key, cert, key);
    // Self-signed after Let's Encrypt: the paths are links into /etc/letsencrypt (never
    // write through them) and certbot's deploy hook would link them again on renewal.
    const auto from_acme = fmt::format(
        "if [ -L {cert} ]; then rm -f {cert} {key} {cert}.bootstrap {key}.bootstrap "
        "/etc/letsencrypt/renewal-hooks/deploy/berth-{app}.sh /etc/berth/tls/{app}.acme; fi\n",
        fmt::arg("cert", cert), fmt::arg("key", key), fmt::arg("app", app));
    auto command = make(acme ? Command{.run = make_cert, .creates = cert}
                             : Command{.run = from_acme + make_cert,
                                       .unless = fmt::format("[ -f {} ] && [ ! -L {} ]", cert, cert)},
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
  // The site without domains is the host's default one (one app at most: the claims
  // refuse a second); a site with domains answers for them alone, next to other apps'.
  d.set("default_server", std::string(proxy.domains.empty() ? " default_server" : ""));
  d.set("server_names", proxy.domains.empty() ? std::string("_") : [&] {
    std::string names;
    for (const auto& n : proxy.domains) names += (names.empty() ? "" : " ") + n;
    return names;
  }());
  // The site's upstream: this host's own instances when it is an app server too, and
  // one file per app server on another host.
  if (server.has_role("app")) d.set("upstream_file", upstream_file(m));
  const auto remote_apps = layout::remote_app_servers(m, server);
  if (!remote_apps.empty()) d.set("upstream_dir", layout::upstream_dir(m));
  d.set("tls", tls);
  d.set("http2", proxy.http2);
  d.set("http2_listen", proxy.http2 && !out.release.nginx_http2_on);
  d.set("http2_on", proxy.http2 && out.release.nginx_http2_on);
  d.set("cert", cert);
  d.set("key", key);
  d.set("max_body", proxy.max_body);
  d.set("read_timeout", std::to_string(util::parse_duration(proxy.read_timeout)->count() / 1000) + "s");
  d.set("maintenance_dir", layout::maintenance_dir(m));
  d.set("retry_after", std::to_string(layout::maintenance_retry_after));

  // Files of this site that nginx's workers read, or only its master.
  r.push_back(make(Directory{.path = "/etc/nginx/berth", .mode = "0755"}, "nginx"));
  r.push_back(make(Directory{.path = nginx_dir, .mode = "0755"}, "nginx"));
  r.push_back(make(Directory{.path = layout::maintenance_dir(m), .mode = "0755"}, "nginx"));
  // The token of berth's own checks, made once on the server (never on this machine:
  // any machine berth runs from reads it there).
  const auto token_file = layout::check_token_file(m);
  auto token = make(Command{.run = fmt::format(
                                "umask 077; t=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \\n') && "
                                "[ ${{#t}} -eq 32 ] && printf '# Managed by berth: the token of its own "
                                "checks (header {1}).\\nmap $http_x_berth_check ${2}_berth_check {{\\n    "
                                "default 0;\\n    \"%s\" 1;\\n}}\\n' \"$t\" > {0}.berth-new && mv -f "
                                "{0}.berth-new {0}",
                                token_file, layout::check_header, app),
                            .creates = token_file},
                    "nginx", {"reload:nginx.service"});
  token.stage = Stage::layout;
  r.push_back(std::move(token));
  d.set("check_file", token_file);
  if (!proxy.trusted_proxies.empty()) {
    const auto file = nginx_dir + "/real-ip.conf";
    d.set("real_ip", true);
    d.set("real_ip_file", file);
    r.push_back(make(File{.path = file, .content = real_ip_conf(m), .validate = "nginx -t"}, "nginx",
                     {"reload:nginx.service"}));
  }
  // Access rules and limits: "/" is the whole site (server level), other paths are
  // locations, one per path with what applies there.
  std::map<std::string, kainjow::mustache::data> by_path;
  kainjow::mustache::data allowlists{kainjow::mustache::data::type::list};
  for (std::size_t i = 0; i < proxy.access.size(); ++i) {
    const auto& access = proxy.access[i];
    const bool site = access.path == "/";
    const auto name = site ? std::string("site") : std::to_string(i + 1);
    const auto users_file = fmt::format("{}/users-{}.htpasswd", nginx_dir, name);
    if (!access.allow.empty()) {
      // An address outside the list is refused unless the request is berth's own check.
      kainjow::mustache::data list;
      kainjow::mustache::data cidrs{kainjow::mustache::data::type::list};
      for (const auto& cidr : access.allow) cidrs.push_back(cidr);
      list.set("name", name);
      list.set("path", access.path);
      list.set("cidrs", cidrs);
      allowlists.push_back(list);
    }
    if (!access.users.empty()) {
      // Read by nginx's workers (www-data), no one else.
      r.push_back(make(File{.path = users_file, .content = users_content(m, access, secrets), .group = "www-data",
                            .mode = "0640", .sensitive = Sensitive::yes},
                       "nginx", {"reload:nginx.service"}));
    }
    if (site) {
      d.set("site_access", access_data(app, access, name, users_file));
    } else {
      by_path[access.path].set("access", access_data(app, access, name, users_file));
    }
  }
  d.set("allowlists", allowlists);
  for (std::size_t i = 0; i < proxy.limits.size(); ++i) {
    const auto& limit = proxy.limits[i];
    kainjow::mustache::data l;
    l.set("zone", fmt::format("{}_path{}", app, i + 1));
    l.set("rpm", std::to_string(limit.requests_per_minute));
    l.set("burst", std::to_string(limit.burst < 0 ? limit.requests_per_minute : limit.burst));
    if (proxy.rate_limit) {
      l.set("site_rate_limit", true);
      l.set("site_burst", std::to_string(proxy.rate_limit->burst));
    }
    by_path[limit.path].set("limit", l);
  }
  kainjow::mustache::data locations{kainjow::mustache::data::type::list};
  for (auto& [path, location] : by_path) {
    location.set("path", path);
    locations.push_back(location);
  }
  d.set("locations", locations);
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
    d.set("bad_bots", util::nginx_quoted(pattern));
  }
  // The manifest's headers, references resolved, in a file of their own that the site
  // includes: root-only and hidden from plans when a value came from a secret. Each
  // value is one nginx string; a `$` in it stays a `$` (a variable set by geo).
  if (!proxy.headers.empty()) {
    const auto dollar = fmt::format("${{{}_dollar}}", app);
    std::string lines = "# Managed by berth: [proxy.headers] of the manifest.\n";
    bool secret = false, dollars = false;
    for (const auto& [name, value] : proxy.headers) {
      const auto resolved = manifest::resolve_value(value, secrets);
      if (!resolved) throw resolved.error();
      const auto& text = resolved->reveal();
      if (std::any_of(text.begin(), text.end(), [](char c) {
            return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
          })) {
        throw Error(fmt::format("{}:{}:{}: header {}: its value holds a line break or another control "
                                "character (from a reference), which would split the response",
                                proxy.where.file, proxy.where.line, proxy.where.column, name));
      }
      secret = secret || resolved->from_secret;
      dollars = dollars || text.find('$') != std::string::npos;
      lines += fmt::format("add_header {} \"{}\" always;\n", name, util::nginx_quoted(text, dollar));
    }
    if (dollars) d.set("dollar", true);
    d.set("headers_file", headers_file);
    r.push_back(make(File{.path = headers_file, .content = lines, .mode = secret ? "0600" : "0644",
                          .sensitive = secret ? Sensitive::yes : Sensitive::no, .validate = "nginx -t"},
                     "nginx", {"reload:nginx.service"}));
  }

  // This host's own instances (the backend makes the file too: a converge of the proxy
  // alone needs it as much).
  if (server.has_role("app")) add_once(out, live_upstream(m));
  add_remote_upstreams(m, remote_apps, r);
  r.push_back(make(File{.path = fmt::format("/etc/nginx/sites-enabled/{}.conf", app),
                        .content = render_template(m.dir, "nginx/site.conf.mustache", d),
                        .validate = "nginx -t"},
                   "nginx", {"reload:nginx.service"}));
  r.push_back(make(Unit{"nginx.service"}, "nginx"));

  if (acme) {
    kainjow::mustache::data a;
    a.set("app", app);
    a.set("cert", cert);
    a.set("live", "/etc/letsencrypt/live/" + app);
    a.set("env_file", acme_env);
    r.push_back(make(Directory{.path = "/var/www/letsencrypt"}, "nginx"));
    r.push_back(make(File{.path = acme_env,
                          .content = render_template(m.dir, "nginx/certbot.env.mustache", a),
                          .mode = "0600"},
                     "nginx"));
    r.push_back(
        make(File{.path = fmt::format("/etc/letsencrypt/renewal-hooks/deploy/berth-{}.sh", app),
                  .content = render_template(m.dir, "nginx/certbot-deploy-hook.sh.mustache", a),
                  .mode = "0755"},
             "nginx"));
    r.push_back(
        make(File{.path = fmt::format("/etc/systemd/system/certbot.service.d/berth-{}.conf", app),
                  .content = render_template(m.dir, "nginx/certbot.service.conf.mustache", a)},
             "nginx", {"daemon-reload"}));
    r.push_back(certbot_issue(proxy, app, cert, key, acme_env));
  }

  // fail2ban (installed and started by base) reads the access log, which must exist
  // when the jail starts: nginx makes it only once it has loaded the site.
  auto log = make(Command{.run = fmt::format(
                              "touch {0} && chown www-data:adm {0} && chmod 0640 {0}", access_log),
                          .creates = access_log},
                  "nginx");
  log.stage = Stage::layout;
  r.push_back(std::move(log));
  kainjow::mustache::data j;
  const auto jail = fmt::format("berth-{}-nginx", app);
  j.set("app", app);
  j.set("jail", jail);
  j.set("access_log", access_log);
  j.set("maxretry", std::to_string(f2b_maxretry));
  j.set("findtime", f2b_findtime);
  j.set("bantime", f2b_bantime);
  // Checked with the whole configuration when fail2ban is there, so that a bad file
  // never takes the sshd jail down with it.
  const std::string f2b_check = "! command -v fail2ban-client >/dev/null || fail2ban-client -t";
  r.push_back(make(File{.path = fmt::format("/etc/fail2ban/filter.d/{}.conf", jail),
                        .content = render_template(m.dir, "fail2ban/filter.conf.mustache", j),
                        .validate = f2b_check},
                   "nginx", {"reload:fail2ban.service"}));
  r.push_back(make(File{.path = fmt::format("/etc/fail2ban/jail.d/{}.conf", jail),
                        .content = render_template(m.dir, "fail2ban/jail.conf.mustache", j),
                        .validate = f2b_check},
                   "nginx", {"reload:fail2ban.service"}));
}

}  // namespace berth::provisioners
