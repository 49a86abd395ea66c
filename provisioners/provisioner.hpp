#pragma once

// Provisioners: pure functions from the manifest to the resources a server should
// have. One folder per component; desired_state() puts them together for one host.
// No SSH here: every provisioner is tested on its output.

#include <core/converge/resource.hpp>
#include <core/manifest/manifest.hpp>
#include <core/manifest/values.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace berth::provisioners {

// A secret created once on its owner server and kept there (database passwords, JWT
// keys). Its value stands in file contents as secret_placeholder(name) until the
// engine has read it (or generated it on the first run). Other servers that use it
// (an app host connecting to the db host) keep a copy that follows the owner's.
struct GeneratedSecret {
  std::string name;
  std::string path;                 // 0600 file holding the value
  int length = 32;                  // bytes of randomness
  std::string owner;                // the server that makes it (desired_state: this one when empty)
  bool copy = false;                // set by desired_state: owner is another server
};

// A port the host's firewall opens, contributed by any component; base turns the
// host's rules into one nftables ruleset (validated with `nft -c`, applied whole).
struct FirewallRule {
  int port = 0;
  std::string proto = "tcp";        // tcp | udp
  std::string from;                 // a source address or CIDR; empty: anywhere
  std::string why;                  // shown in the rendered ruleset, e.g. "postgresql for app"
};

// Everything one host should have.
struct Desired {
  std::vector<converge::Resource> resources;
  std::vector<GeneratedSecret> secrets;
  std::vector<FirewallRule> firewall;
};

// The text standing for a generated secret's value in a file's content.
std::string secret_placeholder(std::string_view name);

// Conventional places on a server.
std::string app_root(const manifest::Manifest& m);      // /srv/APP
std::string config_dir(const manifest::Manifest& m);    // /etc/berth/APP
std::string env_file(const manifest::Manifest& m);      // /etc/berth/APP/app.env
std::string secret_path(const manifest::Manifest& m, std::string_view name);

// Blue/green: the app's instances run on one of two sets of ports, `instances` each:
// blue = port, port+1, ...; green = the next `instances` ports. A deploy starts the
// new release on the set that is not live and points nginx's upstream at it.
enum class Color { blue, green };
std::vector<int> app_ports(const manifest::Manifest& m, Color color = Color::blue);
const char* color_name(Color color);

// /srv/APP/instances/PORT links to the release an instance runs (its WorkingDirectory).
std::string instances_dir(const manifest::Manifest& m);
// The nginx upstream servers of the live color, included by the site; written by
// setup once (blue) and then only by deploys.
std::string upstream_file(const manifest::Manifest& m);
std::string upstream_content(const std::vector<int>& ports);

// The server that runs `run_on = "one"` jobs and other once-per-fleet work: the first
// server with the app role, by name. It also makes the app's generated secrets.
const manifest::Server* primary_app_server(const manifest::Manifest& m);

// The server that makes the databases' passwords: the first with the db role.
const manifest::Server* database_server(const manifest::Manifest& m);

// What `server` should have according to `manifest`, limited to `components` (base,
// databases, app, proxy, jobs; empty: all) and to the server's roles. `secrets`
// resolves the manifest's ${secret:...} / ${env:...} values. Throws berth::Error when
// a value cannot be resolved.
Desired desired_state(const manifest::Manifest& manifest, const manifest::Server& server,
                      manifest::SecretSources& secrets,
                      const std::vector<std::string>& components = {});

// The components, each adding its resources to `out` (called by desired_state).
void add_base(const manifest::Manifest& m, const manifest::Server& s, Desired& out);
void add_databases(const manifest::Manifest& m, const manifest::Server& s, Desired& out);
void add_backend(const manifest::Manifest& m, const manifest::Server& s,
                 manifest::SecretSources& secrets, Desired& out);
void add_proxy(const manifest::Manifest& m, const manifest::Server& s, Desired& out);
void add_jobs(const manifest::Manifest& m, const manifest::Server& s,
              manifest::SecretSources& secrets, Desired& out);

// The environment variables the databases give the app (DATABASE_URL, ...), as
// NAME=value lines; values may hold secret placeholders.
std::vector<std::pair<std::string, std::string>> database_env(const manifest::Manifest& m);
// The generated secrets (the passwords) database_env's URLs stand for, owned by
// database_server(): an app server adds the ones it does not make itself.
std::vector<GeneratedSecret> database_env_secrets(const manifest::Manifest& m);

// The PATH a process of the app runs with when its runtime needs one: for `python`,
// the release's virtualenv (RELEASE_DIR/.venv/bin, made by deploys) comes first; empty
// for node and binary (systemd's default PATH).
std::string runtime_path(const manifest::Manifest& m, std::string_view release_dir);

// `text` escaped for a systemd unit's ExecStart= inside double quotes.
std::string systemd_quote(std::string_view text);

}  // namespace berth::provisioners
