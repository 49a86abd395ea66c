#pragma once

// Several apps on one server (docs/operations.md, "Several apps on one server"): each
// app's setup leaves a claim on every server it manages, /etc/berth/apps.d/APP.claim,
// saying what it takes there: the host's own settings it renders, its instance ports,
// its site, its databases, the files it shares with other apps (and what it writes in
// them), and what is its alone (what `berth destroy` removes). Every converge probe
// reads the other apps' claims, and a manifest that cannot live next to them is
// refused before anything changes. A leaf, like layout.hpp.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::layout {

// The folder of the claims, and an app's claim and origin files in it. The origin file
// names the manifest that first set the app up on the server (written once: a run from
// another checkout does not count as a change).
inline constexpr const char* claims_dir = "/etc/berth/apps.d";
std::string claim_file(std::string_view app);
std::string origin_file(std::string_view app);

// The folder of the apps' firewall openings: the host's ruleset includes every
// APP.nft in it, so that each app's setup writes its own and none rewrites another's.
inline constexpr const char* firewall_dir = "/etc/berth/firewall.d";
std::string firewall_fragment(std::string_view app);

struct Claim {
  struct Database {
    std::string engine;    // postgresql | mysql | redis | mongodb
    std::string name;      // "-" for redis
    std::string user;      // "-" for redis
  };
  // What the app alone has on the server, for `berth destroy`.
  struct Own {
    std::string kind;  // file | dir | link | path (what a command made) | user | group | unit
    std::string name;  // a path, a user or group, a unit
    // What must run once it is gone (the engine's handler names).
    std::vector<std::string> handlers;
  };
  std::string app;
  std::string origin;  // the manifest that set it up here (from the origin file; not rendered)
  // The host's own settings as this app renders them: setting -> value ("timezone" -> "UTC").
  std::vector<std::pair<std::string, std::string>> host;
  int first_port = 0;  // the app's instance ports here, both colors; 0: none
  int last_port = 0;
  bool site = false;                 // a site in the host's nginx
  std::vector<std::string> domains;  // empty: the default site
  std::vector<Database> databases;
  // A file other apps may write too -> the sha256 of what this app writes there.
  std::map<std::string, std::string> shared;
  std::vector<Own> own;
  // Its folders that hold data: `destroy` keeps them unless --purge-data.
  std::vector<std::string> data;
};

// The claim as the file's text, and back. Lines parse_claim does not know are skipped.
std::string render_claim(const Claim& claim);
Claim parse_claim(std::string_view app, std::string_view text);

// The claims of the other apps among the probe's files of claims_dir (file name ->
// content): APP.claim with APP.origin, every app but `self`.
std::vector<Claim> other_claims(const std::map<std::string, std::string>& files,
                                std::string_view self);

// Whether host settings that differ from another app's refuse the run, or this run's
// replace the other apps' (`berth setup --change-host-settings`).
enum class HostSettings { compare, take };

// Every reason `ours` cannot live on one server with `theirs`, one sentence each:
// host settings that differ (unless HostSettings::take), instance ports that overlap,
// two default sites or a domain both serve, one database name or role, two apps'
// Redis or MongoDB, a shared file both write differently (unless a difference above
// explains it). Empty when they fit.
std::vector<std::string> claim_conflicts(const Claim& ours, const Claim& theirs,
                                         HostSettings host = HostSettings::compare);

// What refuses this app's run on a server where other apps live, in one message naming
// this app's manifest and each other app's (its origin), with every conflict and what
// to change; empty when `own` (this app's rendered claim) fits with the other apps'
// claims among `files` (the probe's files of claims_dir).
std::string refusal(std::string_view own, std::string_view app, std::string_view manifest_path,
                    const std::map<std::string, std::string>& files,
                    HostSettings host = HostSettings::compare);

// The sh lines of `berth setup --change-host-settings`: every other app's claim in
// claims_dir gets the host lines of `own` (this app's rendered claim, whose file is
// `own_file`), so that their next setups compare against the new settings. And the
// test that holds when every claim has them already.
std::string take_host_settings_script(std::string_view own, std::string_view own_file);
std::string host_settings_taken_test(std::string_view own, std::string_view own_file);

// The first port from which `count` ports are free of every claim's ports, at or
// above `from`: what the refusal suggests.
int free_ports_from(const std::vector<Claim>& claims, int from, int count);

}  // namespace berth::layout
