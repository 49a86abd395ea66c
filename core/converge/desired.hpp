#pragma once

// What the engine converges a host to: its resources, the secrets it makes once and
// keeps, the firewall openings its components need, and the handler scripts a
// component gives for its own services. Provisioners (provisioners/) compute it from
// the manifest; the engine (engine.hpp) takes it.

#include <core/converge/resource.hpp>
#include <core/debian.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::converge {

// What a generated secret's value is.
enum class SecretKind {
  random,    // `length` random bytes, base64url
  ssh_key,   // an ed25519 private key (OpenSSH format); secret_public_placeholder(name)
             // stands for its public half ("ssh-ed25519 AAAA...")
  found,     // made by the owner's own system (sshd's host key): read on the owner, never
             // generated there nor written; a run whose owner has none fails
};

// A secret created once on its owner server and kept there (database passwords, JWT
// keys). Its value stands in file contents as secret_placeholder(name) until the
// engine has read it (or generated it on the first run). Other servers that use it
// (an app host connecting to the db host) keep a copy that follows the owner's.
struct GeneratedSecret {
  std::string name;
  std::string path;                 // 0600 file holding the value; empty: a server that only
                                    // uses the value in its files and keeps no copy
  int length = 32;                  // bytes of randomness
  std::string owner;                // the server that makes it (desired_state: this one when empty)
  bool copy = false;                // set by desired_state: owner is another server
  SecretKind kind = SecretKind::random;
};

// A port the host's firewall opens, contributed by any component; base turns the
// host's rules into one nftables ruleset (validated with `nft -c`, applied whole).
struct FirewallRule {
  int port = 0;
  std::string proto = "tcp";        // tcp | udp
  std::string from;                 // a source address or CIDR; empty: anywhere
  std::string why;                  // shown in the rendered ruleset, e.g. "postgresql for app"
};

// What a run must find on the server before it changes anything: a file that, when it
// exists, holds `content` (trailing newlines aside). Any host where it does not refuses
// the whole run, with `message` (e.g. the record `berth db promote` leaves naming the
// primary, against a manifest that names another).
struct Expectation {
  std::string path;
  std::string content;
  std::string message;
};

// Everything one host should have.
struct Desired {
  // The Debian release this state is for (the server's, once probed): components read
  // release-specific facts (PostgreSQL's version, a vendor repository's codename) here.
  debian::Release release = debian::assumed();
  std::vector<Resource> resources;
  std::vector<GeneratedSecret> secrets;
  std::vector<FirewallRule> firewall;
  // Handler name -> the sh lines that run it (they `return` non-zero on failure), for
  // handlers whose built-in form is not enough: nginx's reload also waits until its
  // old workers stop taking connections. Other handlers run as apply.hpp says.
  std::map<std::string, std::string> handler_scripts;
  std::vector<Expectation> expectations;
  // A folder the probe reads whole (ProbeResult::dir_files): the claims of the apps on
  // the host, which the caller checks against this app's own (`claim`) before any change.
  std::string claims_dir;
  std::string claim;
  // This run's host settings replace the other apps' (`setup --change-host-settings`):
  // the caller does not refuse the run for them.
  bool take_host_settings = false;
};

// The text standing for a generated secret's value in a file's content.
std::string secret_placeholder(std::string_view name);
// The text standing for the public key of a SecretKind::ssh_key secret.
std::string secret_public_placeholder(std::string_view name);

}  // namespace berth::converge
