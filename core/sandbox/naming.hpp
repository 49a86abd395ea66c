#pragma once

// The pure parts of `berth sandbox`: names of the things a sandbox creates on this
// machine (bridge, network namespaces, links, machines), the address plan inside
// 198.18.0.0/15, host references ("fleet/2"), the [servers.*] stanza and the cache
// key. No I/O here, so all of it is unit-tested (tests/unit/test_sandbox_naming.cpp).

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace berth::sandbox {

// Hosts per sandbox: 1..max_hosts (addresses .2 to .max_hosts+1 of its /24).
inline constexpr int max_hosts = 50;
// Subnet indexes: index i is the /24 number i of 198.18.0.0/15 (0..511). Index 0
// (198.18.0.0/24) is never handed out, so a test may use it for its own purposes.
inline constexpr int first_subnet = 1;
inline constexpr int last_subnet = 511;
// Every link, bridge and network namespace berth creates starts with this; the nft
// table has this name; `down --all` removes everything that carries it.
inline constexpr std::string_view link_prefix = "berth";
inline constexpr std::string_view nft_table = "berth_sandbox";
inline constexpr std::string_view address_range = "198.18.0.0/15";

// Why `name` cannot name a sandbox (empty when it can): 1 to 32 characters of a-z,
// 0-9 and '-', starting with a letter and not ending with '-'.
std::string name_problem(std::string_view name);

// The bridge of sandbox `name`: "berth-" + at most 9 characters (interface names
// have at most 15); a longer name is shortened to 4 characters plus a 5-digit hash.
std::string bridge_name(std::string_view name);

// The systemd-nspawn machine name and network namespace of host `host` (1-based):
// "berth-NAME-HOST".
std::string machine_name(std::string_view name, int host);

// Whether `machine` is a machine name of sandbox `name` (exactly "berth-NAME-<digits>",
// so that sandbox "a" never claims the hosts of sandbox "a-1").
bool is_machine_of(std::string_view machine, std::string_view name);

// The host side of host `host`'s veth link: "berth<subnet>v<host>" (at most 12 chars).
std::string veth_name(int subnet, int host);

// The [servers.*] name and hostname of a host: the sandbox name when the sandbox has
// one host, "NAME-HOST" otherwise.
std::string server_name(std::string_view name, int host, int count);

// Address of `host` (1-based, host 1 is .2) in subnet `subnet`: "198.18.1.2".
// Host 0 is this machine's side: the bridge address .1.
std::string host_address(int subnet, int host);

// The subnet in CIDR form: "198.18.1.0/24".
std::string subnet_cidr(int subnet);

// The subnet index of a 198.18.0.0/15 IPv4 address, or nullopt for any other address.
std::optional<int> subnet_of(std::string_view address);

// The lowest subnet index in first_subnet..last_subnet not in `used`; nullopt when
// all are taken.
std::optional<int> allocate_subnet(const std::set<int>& used);

// A host reference "NAME" or "NAME/HOST" as typed after `berth sandbox ssh`.
struct HostRef {
  std::string sandbox;
  int host = 1;
};

// Parses "NAME" (host 1) or "NAME/HOST" (HOST >= 1); nullopt when malformed.
std::optional<HostRef> parse_host_ref(std::string_view text);

// One host as it appears in a [servers.*] stanza.
struct StanzaHost {
  std::string server;  // the table key
  std::string address;
  std::string identity_file;
  std::string known_hosts;
};

// The TOML to paste into berth.toml: one [servers.NAME] table per host, with address,
// user = "root", identity_file and known_hosts; strings escaped for TOML.
std::string render_stanza(const std::vector<StanzaHost>& hosts);

// A sandbox host runs one of the Debian releases berth supports (core/debian.hpp);
// the one berth assumes, 12, unless asked.
inline constexpr int default_release = 12;

// What the base rootfs is built from; the cache key changes when any of it does.
struct CacheRecipe {
  std::string suite = "bookworm";
  std::string variant = "minbase";
  std::vector<std::string> packages;  // debootstrap --include
  std::string architecture;           // dpkg architecture: amd64, arm64
  int version = 2;                    // bump when the base configuration changes
};

// The recipe berth uses on this machine for Debian `release` (architecture from the
// build target).
CacheRecipe default_recipe(int release = default_release);

// The cache folder name for `recipe`: "bookworm-amd64-v1-<8 hex of a SHA-256 over
// the whole recipe>".
std::string cache_key(const CacheRecipe& recipe);

// The recipe version in cache key `name` when it is a key of `recipe`'s suite and
// architecture ("bookworm-amd64-v1-ad2d34a5" gives 1); nothing for any other name,
// a partial build's ("….partial") included.
std::optional<int> cache_key_version(const std::string& name, const CacheRecipe& recipe);

}  // namespace berth::sandbox
