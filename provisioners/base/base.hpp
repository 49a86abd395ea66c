#pragma once

// base's pieces that desired.cpp and the tests need besides add_base: the firewall,
// rendered once every component of a host has said which ports it opens, and the
// choices base makes from the manifest (root login, swap size).

#include <provisioners/provisioner.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace berth::provisioners {

// Where the firewall ruleset lives: Debian's nftables.service loads this file.
inline constexpr const char* nftables_conf = "/etc/nftables.conf";
// The sshd drop-in; 00- so that it sorts (and wins) before every other drop-in.
inline constexpr const char* sshd_dropin = "/etc/ssh/sshd_config.d/00-berth.conf";

// base's own firewall rules for `server`: its SSH port, 80 and 443 when it runs the
// proxy, then [base] open_ports. Never fails.
std::vector<FirewallRule> base_firewall_rules(const manifest::Manifest& m,
                                              const manifest::Server& server);

// The nftables ruleset accepting `rules` (duplicates merged, first one's place kept)
// after established/related, loopback and ICMP; everything else is dropped. Throws
// berth::Error (internal) for a rule no provisioner should make: port outside 1..65535,
// proto other than tcp/udp, a source that is not an address or CIDR.
std::string render_firewall(const manifest::Manifest& m, const std::vector<FirewallRule>& rules);
// The rules of one app, as the file the host's ruleset includes (layout::firewall_fragment).
std::string render_firewall_fragment(const manifest::Manifest& m, const std::vector<FirewallRule>& rules);

// Adds (desired_state does, unless [base] harden = false) the ruleset file (validated with `nft -c` and checked to keep sshd's ports
// open before it takes effect, applied by reloading nftables.service) and the
// nftables package and unit to `out`. Throws like render_firewall.
// The host's own ruleset opens `server`'s SSH port and includes every app's file; this
// app's file holds the rest of `rules`.
void add_firewall(const manifest::Manifest& m, const manifest::Server& server, const std::vector<FirewallRule>& rules,
                  Desired& out);

// sshd's PermitRootLogin for `server`: "prohibit-password" while berth logs in as
// root (root keeps its keys, never a password), "no" when berth logs in as another
// user, who has just proved that it can log in and `sudo -n`. Never fails.
std::string permit_root_login(const manifest::Server& server);

// The size in bytes of a swap size like "1G", "512M" or "1048576K"; 0 when `size` is
// not one (the manifest's validation has already said so).
std::uint64_t swap_bytes(const std::string& size);

}  // namespace berth::provisioners
