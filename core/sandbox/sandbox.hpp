#pragma once

// `berth sandbox`: throwaway Debian 12 or 13 hosts on this machine, for rehearsing a deploy
// and for the e2e tests. Each host is a systemd-nspawn container (systemd as PID 1)
// on an overlayfs over one cached debootstrap rootfs, in a network namespace of its
// own with an address from 198.18.0.0/15 on a bridge shared by the sandbox's hosts.
// docs/sandbox.md describes the folders, names and the tear-down guarantees.
//
// Everything here needs root and throws berth::Error (what, where, what next) on
// failure.

#include <core/sandbox/naming.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::sandbox {

// Where sandboxes keep their files. The defaults are overridden by the environment
// variables BERTH_SANDBOX_CACHE and BERTH_SANDBOX_STATE (used by tests).
struct Paths {
  std::filesystem::path cache = "/var/cache/berth/sandbox";  // <cache key>/rootfs
  std::filesystem::path state = "/var/lib/berth/sandbox";    // <name>/state.json, keys, layers

  // The defaults with the environment overrides applied.
  static Paths from_environment();
};

// Receives progress lines ("fleet-2: booting") and details (debootstrap output).
struct Reporter {
  std::function<void(std::string_view)> progress;
  std::function<void(std::string_view)> detail;
};

// One host of a sandbox, as recorded in its state file.
struct Host {
  int index = 1;        // 1-based
  std::string server;   // [servers.*] name and hostname
  std::string machine;  // nspawn machine name and netns name
  std::string address;
  std::string veth;                       // host side of its link (on the bridge)
  int nspawn_pid = 0;                     // 0 until started
  std::string status;                     // creating | booting | running | degraded | stopped
  std::vector<std::string> failed_units;  // when degraded
  double boot_seconds = 0;                // from start of nspawn to running/degraded
};

// A sandbox as recorded in /var/lib/berth/sandbox/NAME/state.json.
struct Sandbox {
  std::string name;
  int subnet = 0;
  std::string bridge;
  std::string cache_key;
  std::filesystem::path dir;            // its state folder
  std::filesystem::path identity_file;  // root's private key (ed25519)
  std::filesystem::path known_hosts;    // host keys of all its hosts
  bool complete = false;                // `up` finished
  std::vector<Host> hosts;

  // The [servers.*] entries of its hosts.
  std::vector<StanzaHost> stanza_hosts() const;
};

struct UpOptions {
  int count = 1;
  int release = default_release;             // Debian 12 or 13
  std::chrono::seconds boot_timeout{120};
};

// Fails with a message naming what to install when this machine cannot run
// sandboxes: not root, not Linux, or systemd-nspawn/debootstrap/nft/ip/ssh-keygen/
// nsenter missing.
void check_requirements();

// The path of the base rootfs, building the cache first (debootstrap, ~45 s) when it
// is missing, partial or corrupt. Safe against concurrent callers (file lock).
// Fails when debootstrap fails, with the tail of its output. Removes the caches of the
// same suite and architecture from older recipe versions that no sandbox uses.
std::filesystem::path ensure_cache(const Paths& paths, const Reporter& reporter,
                                   int release = default_release);

// Boots sandbox `name` with options.count hosts and waits until each reports running
// or degraded. A stale sandbox of that name (left by a crash) is removed first; a
// sandbox of that name whose hosts all run is an error. On failure everything
// created is removed again and the error carries the boot log's tail.
Sandbox up(const Paths& paths, std::string_view name, const UpOptions& options,
           const Reporter& reporter);

// Removes sandbox `name`: processes, mounts, namespaces, links, bridge, state, and
// the nft table and forwarding setting when it was the last sandbox. Works from the
// state file and from a scan of the machine, so a half-made sandbox goes too. Fails
// only when something could not be removed (naming it); a sandbox that does not
// exist is not an error.
void down(const Paths& paths, std::string_view name, const Reporter& reporter);

// Removes every sandbox and anything berth's sandboxes leave (by name prefix):
// nspawn processes of berth-* machines, mounts under the state folder, berth*
// links and namespaces, the nft table. Running it twice is fine.
void down_all(const Paths& paths, const Reporter& reporter);

// Every sandbox with a state file, sorted by name; host status is refreshed from
// the machine (a host whose process is gone is "stopped").
std::vector<Sandbox> list(const Paths& paths);

// Sandbox `name`; fails when it does not exist, hinting at `berth sandbox up`.
Sandbox find(const Paths& paths, std::string_view name);

// The argv of an OpenSSH client session to `host` of `sandbox` with its key and
// known_hosts, ignoring ~/.ssh/config; `command` (may be empty) runs remotely.
std::vector<std::string> ssh_argv(const Sandbox& sandbox, const Host& host,
                                  const std::vector<std::string>& command);

}  // namespace berth::sandbox
