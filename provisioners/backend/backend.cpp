// backend: the app's runtime, system user, release layout, env file and systemd units.
#include <core/converge/apply.hpp>
#include <core/error.hpp>
#include <core/render.hpp>
#include <core/util/encode.hpp>
#include <core/util/text.hpp>
#include <provisioners/provisioner.hpp>
#include <core/deploy/scripts.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace berth::provisioners {

using namespace converge;

namespace {

std::vector<std::string> runtime_packages(const std::string& runtime) {
  // The build runs on the operator's machine (npm ci there), so no npm on the server.
  if (runtime == "node") return {"nodejs"};
  if (runtime == "python") return {"python3", "python3-venv"};
  return {};
}

constexpr const char* nodesource = "deb.nodesource.com";

// Node.js `[app.run] node` from NodeSource's apt repository, as MongoDB's comes from
// its own. Debian's nodejs may be installed already (an earlier setup without `node`,
// or another major), and apt never replaces an installed package by itself: a pin
// makes NodeSource's nodejs apt's candidate over Debian's (for unattended upgrades
// too), and a command moves an installed nodejs of another origin or major to
// NodeSource's, downgrading when the major went down; then the app's instances start
// again on it (`restart`, blue/green after the converge).
void add_nodesource(const manifest::Manifest& m, const std::string& restart, Desired& out) {
  const auto& major = m.app.run.node;
  const std::string keyring = "/usr/share/keyrings/nodesource.gpg";
  kainjow::mustache::data data;
  data.set("major", major);
  data.set("keyring", keyring);
  data.set("repository", fmt::format("https://{}", nodesource));
  data.set("origin", nodesource);
  add_apt_repository({.key_url = fmt::format("https://{}/gpgkey/nodesource-repo.gpg.key", nodesource),
                      .keyring = keyring,
                      .list = "/etc/apt/sources.list.d/nodesource.list",
                      .content = render_template(m.dir, "app/nodesource.list.mustache", data),
                      .packages = {"nodejs"}},
                     "app", out);
  auto pin = make(File{.path = "/etc/apt/preferences.d/nodesource",
                       .content = render_template(m.dir, "app/nodesource.pref.mustache", data)},
                  "app");
  pin.stage = Stage::packages;
  out.resources.push_back(std::move(pin));
  auto move = make(
      Command{.name = "nodejs-from-nodesource",
              .run = fmt::format("apt-get {0} update && apt-get {0} install --no-install-recommends "
                                 "--allow-downgrades nodejs/nodistro",
                                 apt_get_options),
              .unless = fmt::format("dpkg-query -W -f='${{db:Status-Status}} ${{Version}}' nodejs 2>/dev/null | "
                                    "grep -q '^installed {}[.][^ ]*nodesource'",
                                    major)},
      "app", {restart});
  move.stage = Stage::packages;
  out.resources.push_back(std::move(move));
}

// NAME="value" lines of the env file, as systemd reads them (EnvironmentFile=):
// the app gets each value byte for byte, line breaks included (a PEM key).
std::string env_line(const std::string& name, const std::string& value) {
  return fmt::format("{}={}\n", name, util::systemd_env_quoted(value));
}

}  // namespace

void add_backend(const manifest::Manifest& m, const manifest::Server& server,
                 manifest::SecretSources& secrets, Desired& out) {
  const auto& app = m.app;
  const auto root = app_root(m);
  const auto user = app.name;
  auto& r = out.resources;

  // What the instances start with changed: they start again blue/green, after the
  // converge (converge/apply.hpp: release:APP), never by a restart in place.
  const auto restart = std::string(converge::release_handler_prefix) + app.name;
  if (app.run.runtime == "node" && !app.run.node.empty()) {
    add_nodesource(m, restart, out);
  } else {
    for (const auto& p : runtime_packages(app.run.runtime)) r.push_back(make(Package{p}, "app"));
  }
  r.push_back(make(Group{user}, "app"));
  r.push_back(make(User{.name = user, .group = user, .home = root}, "app"));
  r.push_back(make(Directory{.path = root, .owner = user, .group = user}, "app"));
  for (const char* sub : {"releases", "shared", "instances"}) {
    r.push_back(make(Directory{.path = root + "/" + sub, .owner = user, .group = user}, "app"));
  }

  // The env file: the manifest's env, its secrets, the database URLs. Generated
  // secrets stand as placeholders until the engine has read or made their values.
  std::string env = "# Managed by berth: the app's environment. Do not edit.\n";
  for (const auto& [name, value] : app.run.env) {
    const auto resolved = manifest::resolve_value(value, secrets);
    if (!resolved) throw resolved.error();
    env += env_line(name, resolved->reveal());
  }
  for (const auto& spec : app.run.secrets) {
    if (spec.generate) {
      // One value on every app server: made on the primary one (there is one: this
      // server has the app role).
      out.secrets.push_back({.name = spec.name, .path = secret_path(m, spec.name),
                             .length = spec.length, .owner = primary_app_server(m)->name});
      env += env_line(spec.name, secret_placeholder(spec.name));
      continue;
    }
    const auto resolved = manifest::resolve_value(spec.value, secrets);
    if (!resolved) throw resolved.error();
    env += env_line(spec.name, resolved->reveal());
  }
  for (const auto& [name, value] : database_env(m)) env += env_line(name, value);
  expect_primary(m, out);
  // The database passwords in those URLs: a copy here unless this server makes them.
  for (auto& secret : database_env_secrets(m)) {
    const bool listed = std::any_of(out.secrets.begin(), out.secrets.end(),
                                    [&](const GeneratedSecret& g) { return g.name == secret.name; });
    if (!listed) out.secrets.push_back(std::move(secret));
  }

  r.push_back(make(File{.path = env_file(m), .content = env, .mode = "0600",
                        .sensitive = Sensitive::yes},
                   "app", {restart}));

  kainjow::mustache::data unit;
  unit.set("app", app.name);
  unit.set("user", user);
  unit.set("root", root);
  unit.set("env_file", env_file(m));
  // Whole seconds as a bare number (systemd's default unit), else milliseconds.
  const auto stop_ms = app.run.stop_timeout.count();
  unit.set("stop_timeout", stop_ms % 1000 == 0 ? std::to_string(stop_ms / 1000) : fmt::format("{}ms", stop_ms));
  // Only when there is one: kainjow renders a section for any string, even empty.
  if (const auto path = runtime_path(m, root + "/instances/%i"); !path.empty()) unit.set("path", path);
  unit.set("exec_start", "/bin/sh -c \"exec " + systemd_quote(app.run.command) + "\"");
  r.push_back(make(File{.path = fmt::format("/etc/systemd/system/{}@.service", app.name),
                        .content = render_template(m.dir, "systemd/app@.service.mustache", unit)},
                   "app", {"daemon-reload", restart}));
  // The instances themselves are started, switched and stopped by deploys. Once a
  // release is live, the ones nginx sends requests to must run: a deploy cut off at
  // the wrong moment, or an instance stopped by hand, shows in plan and setup starts
  // them again (without a proxy no upstream says which color is live).
  if (m.proxy) {
    add_once(out, live_upstream(m));
    // The proxies on other hosts reach the instances of both colors.
    for (const auto& proxy : m.servers) {
      if (!proxy.has_role("proxy") || proxy.name == server.name) continue;
      for (const auto color : {Color::blue, Color::green}) {
        for (const int port : app_ports(m, color)) {
          out.firewall.push_back({port, "tcp", proxy.internal_address(),
                                  fmt::format("{} instance for the proxy {}", app.name, proxy.name)});
        }
      }
    }
    const auto live_units = layout::read_live_units(m);
    r.push_back(make(
        Command{.name = "live-instances:" + app.name,
                .run = live_units + "systemctl start $units",
                .unless = fmt::format("[ -e {}/current ] || exit 0\n{}for u in $units; do "
                                      "systemctl is-active -q \"$u\" || exit 1; done",
                                      util::shell_quote(root), live_units)},
        "app"));
  }
  // A deploy lock whose run died (berth killed, its connection cut) is released: a
  // later deploy would take it over, but nothing else should find it held.
  r.push_back(make(Command{.name = "stale-deploy-lock:" + app.name,
                           .run = deploy::stale_lock_release_script(m),
                           .unless = deploy::stale_lock_test_script(m)},
                   "app"));
}

}  // namespace berth::provisioners
