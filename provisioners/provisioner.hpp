#pragma once

// Provisioners: pure functions from the manifest to the resources a server should
// have. One folder per component; desired_state() puts them together for one host.
// No SSH here: every provisioner is tested on its output.

#include <core/converge/desired.hpp>
#include <core/converge/resource.hpp>
#include <core/layout/layout.hpp>
#include <core/manifest/manifest.hpp>
#include <core/manifest/values.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace berth::provisioners {

// The engine's input and the server layout, as the provisioners use them.
using converge::Desired;
using converge::FirewallRule;
using converge::GeneratedSecret;
using converge::secret_placeholder;
using layout::app_ports;
using layout::app_root;
using layout::Color;
using layout::color_name;
using layout::config_dir;
using layout::database_server;
using layout::env_file;
using layout::instances_dir;
using layout::primary_app_server;
using layout::runtime_path;
using layout::secret_path;
using layout::upstream_content;
using layout::upstream_file;

// What `server` should have according to `manifest`, limited to `components` (base,
// databases, app, proxy, jobs; empty: all) and to the server's roles. `secrets`
// resolves the manifest's ${secret:...} / ${env:...} values. Throws berth::Error when
// a value cannot be resolved.
// The state is for Debian `release` (the server's, from the converge probe).
Desired desired_state(const manifest::Manifest& manifest, const manifest::Server& server,
                      manifest::SecretSources& secrets,
                      const std::vector<std::string>& components = {},
                      const debian::Release& release = debian::assumed());

// `berth setup --change-host-settings`: the host settings of `out` (desired_state's, for
// one server) replace the other apps' in their claims on the server, and differing
// ones no longer refuse the run (docs/operations.md, "Several apps on one server").
void take_host_settings(const manifest::Manifest& m, Desired& out);

// The components, each adding its resources to `out` (called by desired_state).
void add_base(const manifest::Manifest& m, const manifest::Server& s, Desired& out);
void add_databases(const manifest::Manifest& m, const manifest::Server& s, Desired& out);
void add_backend(const manifest::Manifest& m, const manifest::Server& s,
                 manifest::SecretSources& secrets, Desired& out);
void add_proxy(const manifest::Manifest& m, const manifest::Server& s,
               manifest::SecretSources& secrets, Desired& out);
void add_jobs(const manifest::Manifest& m, const manifest::Server& s,
              manifest::SecretSources& secrets, Desired& out);
// [backups]: the repository's side on the backup server, restic's on the db servers.
void add_offsite(const manifest::Manifest& m, const manifest::Server& s, manifest::SecretSources& secrets,
                 Desired& out);

// The environment variables the databases give the app (DATABASE_URL, ...), as
// NAME=value lines; values may hold secret placeholders.
std::vector<std::pair<std::string, std::string>> database_env(const manifest::Manifest& m);
// The generated secrets (the passwords) database_env's URLs stand for, owned by
// database_server(): an app server adds the ones it does not make itself.
std::vector<GeneratedSecret> database_env_secrets(const manifest::Manifest& m);
// With PostgreSQL replicas: the expectation that the primary record `berth db promote`
// leaves (layout::primary_record), when there is one, names the manifest's primary;
// every app and db server adds it, so setup refuses a manifest a switchover outdated.
void expect_primary(const manifest::Manifest& m, Desired& out);


// Adds `r` to out.resources unless a resource with its id is there already (two
// components may need one package; two databases of one engine share the server's
// packages, configs and units).
void add_once(Desired& out, converge::Resource r);

// The file that records an app host's live color (upstream_file), when there is a
// proxy: blue until the first deploy, the deploys' from then on. The backend adds it,
// and nginx on a host that is an app server too (a converge of the proxy alone).
converge::Resource live_upstream(const manifest::Manifest& m);

// A vendor's apt repository, for what Debian does not ship or ships too old (MongoDB,
// NodeSource's Node.js).
struct AptRepository {
  std::string key_url;                // the vendor's signing key, ASCII-armored
  std::string keyring;                // where it is dearmored: /usr/share/keyrings/NAME.gpg
  std::string list;                   // /etc/apt/sources.list.d/NAME.list
  std::string content;                // the list's lines (a template), signed-by `keyring`
  std::vector<std::string> packages;  // installed from it
};

// Adds `repo` under `component`: curl and gnupg, the key (fetched and dearmored once:
// the command creates the keyring) and the list, in the packages stage after its
// apt-get; the packages in the next stage, whose apt-get updates the lists when it
// does not know a package. What `out` has already (by id) is not added again.
void add_apt_repository(const AptRepository& repo, const std::string& component, Desired& out);

// What a failed job, backup, verification or repository check starts (OnFailure=
// APP-job-failed@NAME.service): the script that writes the failure to the journal and
// POSTs it to NAME's webhook (failure_webhook), and its template unit. Added once.
void add_failure_reporter(const manifest::Manifest& m, Desired& out);
// The curl config holding NAME's webhook `url` (0600; a comment when url is empty).
converge::Resource failure_webhook(const manifest::Manifest& m, std::string_view name, const std::string& url,
                                   std::string_view component);

// A service run by its timer: /etc/systemd/system/UNIT.service and UNIT.timer holding
// `service` and `timer` (a change reloads systemd, the timer's restarts the timer), and
// the timer enabled and started where `here` (stopped and disabled elsewhere).
void add_timed_service(Desired& out, const std::string& unit, std::string service, std::string timer,
                       const std::string& component, bool here = true);

// `text` escaped for a systemd unit's ExecStart= inside double quotes.
std::string systemd_quote(std::string_view text);

}  // namespace berth::provisioners
