#include <provisioners/base/base.hpp>
#include <provisioners/provisioner.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace berth::provisioners {

namespace {

constexpr const char* component_names[] = {"base", "databases", "app", "jobs", "proxy"};

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

Desired desired_state(const manifest::Manifest& manifest, const manifest::Server& server,
                      manifest::SecretSources& secrets, const std::vector<std::string>& components,
                      const debian::Release& release) {
  const auto wanted = [&](std::string_view component) {
    return components.empty() ||
           std::find(components.begin(), components.end(), component) != components.end();
  };
  const auto add_components = [&](const auto& want, manifest::SecretSources& values, Desired& out) {
    if (want("base")) add_base(manifest, server, out);
    if (want("databases") && server.has_role("db")) add_databases(manifest, server, out);
    if (want("databases") && (server.has_role("db") || server.has_role("backup")))
      add_offsite(manifest, server, values, out);
    if (want("app") && server.has_role("app")) add_backend(manifest, server, values, out);
    if (want("jobs") && server.has_role("app")) add_jobs(manifest, server, values, out);
    if (want("proxy") && server.has_role("proxy") && manifest.proxy) add_proxy(manifest, server, values, out);
  };
  Desired out;
  out.release = release;
  add_components(wanted, secrets, out);
  for (auto& secret : out.secrets) {
    if (secret.owner.empty()) secret.owner = server.name;
    secret.copy = secret.owner != server.name;
  }
  if (!wanted("base") || !manifest.base.harden) return out;
  // The firewall is the whole host's: when this step converges only some components,
  // the ports of the others are asked for too, or applying base would close them.
  // Ports never depend on secret values, so those stand in as placeholders.
  auto rules = out.firewall;
  const auto all = [](std::string_view) { return true; };
  const bool partial = std::any_of(std::begin(component_names), std::end(component_names),
                                   [&](const char* c) { return !wanted(c); });
  if (partial) {
    manifest::SecretSources placeholders(manifest, [](const std::string& name) {
      return std::optional<std::string>("placeholder-" + name);
    });
    Desired whole;
    whole.release = release;
    add_components(all, placeholders, whole);
    rules = std::move(whole.firewall);
  }
  add_firewall(manifest, rules, out);
  return out;
}

}  // namespace berth::provisioners
