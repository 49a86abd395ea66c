#include <core/db/replication.hpp>
#include <core/layout/claims.hpp>
#include <core/util/hash.hpp>
#include <core/util/text.hpp>
#include <provisioners/base/base.hpp>
#include <provisioners/database/database.hpp>
#include <provisioners/provisioner.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace berth::provisioners {

namespace {

// The name of a file, folder, link, user, group or unit resource, or of what a command
// creates, with its kind as the claims spell it; empty for packages and other commands.
std::pair<std::string, std::string> claimed(const converge::Resource& r) {
  using namespace converge;
  if (const auto* f = std::get_if<File>(&r.spec)) return {"file", f->path};
  if (const auto* d = std::get_if<Directory>(&r.spec)) return {"dir", d->path};
  if (const auto* l = std::get_if<Symlink>(&r.spec)) return {"link", l->path};
  if (const auto* u = std::get_if<User>(&r.spec)) return {"user", u->name};
  if (const auto* g = std::get_if<Group>(&r.spec)) return {"group", g->name};
  if (const auto* u = std::get_if<Unit>(&r.spec)) return {"unit", u->name};
  // What a command makes (a certificate, a log, a token): removed as a whole.
  if (const auto* c = std::get_if<Command>(&r.spec); c && !c->creates.empty()) return {"path", c->creates};
  return {};
}

// The host's own settings as this manifest renders them for `s`: every app on a server
// must render them alike (docs/operations.md, "Several apps on one server").
std::vector<std::pair<std::string, std::string>> host_settings(const manifest::Manifest& m,
                                                                const manifest::Server& s) {
  const auto& b = m.base;
  std::string keys = "none";
  if (!b.ssh_keys.empty()) {
    std::string all;
    for (const auto& k : b.ssh_keys) all += k + "\n";
    keys = fmt::format("sha256:{} ({} keys)", util::sha256_hex(all).substr(0, 16), b.ssh_keys.size());
  }
  return {{"harden", b.harden ? "true" : "false"},
          {"deploy_user", b.deploy_user},
          {"ssh_keys", keys},
          {"timezone", b.timezone},
          {"swap", b.swap},
          {"journald_max_use", b.journald_max_use},
          {"ssh_port", std::to_string(s.port)},
          {"permit_root_login", permit_root_login(s)}};
}

// What this app takes on `s` (layout/claims.hpp), from `whole`: every component's
// resources, with secrets as placeholders. A resource is shared with other apps when
// the same manifest under another app name has it too; the rest is the app's own.
layout::Claim make_claim(const manifest::Manifest& m, const manifest::Server& s, const Desired& whole,
                         const Desired& other_name) {
  layout::Claim c;
  c.app = m.app.name;
  c.host = host_settings(m, s);
  if (s.has_role("app")) {
    c.first_port = m.app.run.port;
    c.last_port = layout::app_ports(m, Color::green).back();
  }
  if (s.has_role("proxy") && m.proxy) {
    c.site = true;
    c.domains = m.proxy->domains;
  }
  if (s.has_role("db")) {
    for (const auto& db : m.databases) {
      const bool redis = db.engine == manifest::Engine::redis;
      c.databases.push_back({.engine = database::engine_name(db.engine),
                             .name = redis ? "-" : db.name,
                             .user = redis ? "-" : db.user});
    }
  }
  // A replica's standby settings come and go with a switchover (`berth db promote`),
  // which converges no db server: the claim must not depend on which is the primary.
  std::set<std::string> by_role;
  for (const auto& db : m.databases) {
    if (db.engine == manifest::Engine::postgresql)
      by_role.insert(db::standby_conf(db.version.empty() ? whole.release.postgresql : db.version));
  }
  std::set<std::pair<std::string, std::string>> elsewhere;
  for (const auto& r : other_name.resources) elsewhere.insert(claimed(r));
  for (const auto& r : whole.resources) {
    const auto id = claimed(r);
    if (id.first.empty()) continue;
    if (!elsewhere.contains(id)) {
      c.own.push_back({.kind = id.first, .name = id.second, .handlers = r.notify});
    } else if (const auto* f = std::get_if<converge::File>(&r.spec);
               f && r.component != "base" && r.component != "firewall" && !by_role.contains(f->path)) {
      // base's and the host's ruleset's files follow the host settings alone, which
      // the claims compare as such (and --change-host-settings replaces).
      c.shared[f->path] = util::sha256_hex(f->content);
    }
  }
  c.data = {layout::config_dir(m) + "/secrets", "/var/backups/berth/" + m.app.name, layout::offsite_chroot(m)};
  return c;
}

// The claim's file, and the origin's, written first: the probe of every other app's run
// reads them (the check itself is the caller's, on Desired::claim).
void add_claim(const manifest::Manifest& m, const layout::Claim& claim, Desired& out) {
  using converge::make;
  out.claims_dir = layout::claims_dir;
  out.claim = layout::render_claim(claim);
  std::vector<converge::Resource> r;
  r.push_back(make(converge::Directory{.path = layout::claims_dir, .mode = "0755"}, "base"));
  r.push_back(make(converge::File{.path = layout::claim_file(m.app.name), .content = out.claim}, "base"));
  // Where the app was first set up from, for the messages of other apps' refusals.
  const auto origin = m.path.empty() ? std::string("-") : std::filesystem::absolute(m.path).lexically_normal().string();
  r.push_back(make(converge::Command{.name = "origin:" + m.app.name,
                                     .run = fmt::format("printf '%s\\n' {} > {}", util::shell_quote(origin),
                                                        layout::origin_file(m.app.name)),
                                     .creates = layout::origin_file(m.app.name)},
                   "base"));
  for (auto& one : r) {
    one.stage = converge::Stage::layout;
    out.resources.push_back(std::move(one));
  }
}

}  // namespace

std::string systemd_quote(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '%': out += "%%"; break;
      case '$': out += "$$"; break;
      default: out += c;
    }
  }
  return out;
}

void add_timed_service(Desired& out, const std::string& unit, std::string service, std::string timer,
                       const std::string& component, bool here) {
  using converge::File, converge::Unit, converge::make;
  out.resources.push_back(make(File{.path = "/etc/systemd/system/" + unit + ".service", .content = std::move(service)},
                               component, {"daemon-reload"}));
  out.resources.push_back(make(File{.path = "/etc/systemd/system/" + unit + ".timer", .content = std::move(timer)},
                               component, {"daemon-reload", "restart:" + unit + ".timer"}));
  out.resources.push_back(make(Unit{.name = unit + ".timer", .enabled = here, .active = here}, component));
}

void take_host_settings(const manifest::Manifest& m, Desired& out) {
  const auto own = layout::claim_file(m.app.name);
  auto take = converge::make(converge::Command{.name = "host-settings:" + m.app.name,
                                               .run = layout::take_host_settings_script(out.claim, own),
                                               .unless = layout::host_settings_taken_test(out.claim, own)},
                             "base");
  take.stage = converge::Stage::layout;
  out.resources.push_back(std::move(take));
  out.take_host_settings = true;
}

Desired desired_state(const manifest::Manifest& manifest, const manifest::Server& server,
                      manifest::SecretSources& secrets, const std::vector<std::string>& components,
                      const debian::Release& release) {
  const auto wanted = [&](std::string_view component) {
    return components.empty() ||
           std::find(components.begin(), components.end(), component) != components.end();
  };
  const auto all = [](std::string_view) { return true; };
  const auto render = [&](const manifest::Manifest& m, const auto& want, manifest::SecretSources& values) {
    Desired out;
    out.release = release;
    if (want("base")) add_base(m, server, out);
    if (want("databases") && server.has_role("db")) add_databases(m, server, out);
    if (want("databases") && (server.has_role("db") || server.has_role("backup"))) add_offsite(m, server, values, out);
    if (want("app") && server.has_role("app")) add_backend(m, server, values, out);
    if (want("jobs") && server.has_role("app")) add_jobs(m, server, values, out);
    if (want("proxy") && server.has_role("proxy") && m.proxy) add_proxy(m, server, values, out);
    return out;
  };
  auto out = render(manifest, wanted, secrets);
  for (auto& secret : out.secrets) {
    if (secret.owner.empty()) secret.owner = server.name;
    secret.copy = secret.owner != server.name;
  }
  // The whole host's share of this app, whichever components this step converges: its
  // firewall openings and its claim. Neither depends on secret values, so placeholders
  // stand in for them. The same manifest under another app's name tells what another
  // app would share with this one.
  const auto placeholder = [](const std::string& name) { return std::optional<std::string>("placeholder-" + name); };
  manifest::SecretSources placeholders(manifest, placeholder);
  auto whole = render(manifest, all, placeholders);
  auto renamed = manifest;
  renamed.app.name = manifest.app.name == "berth-other" ? "berth-another" : "berth-other";
  manifest::SecretSources renamed_placeholders(renamed, placeholder);
  auto other = render(renamed, all, renamed_placeholders);
  if (manifest.base.harden) {
    add_firewall(manifest, server, whole.firewall, whole);
    add_firewall(renamed, server, other.firewall, other);
  }
  add_claim(manifest, make_claim(manifest, server, whole, other), out);
  if (wanted("base") && manifest.base.harden) add_firewall(manifest, server, whole.firewall, out);
  return out;
}

}  // namespace berth::provisioners
