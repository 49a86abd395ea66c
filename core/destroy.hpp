#pragma once

// `berth destroy`: one app leaves its servers, and the other apps there keep serving.
// What goes is what the app's claim (core/layout/claims.hpp) says is its own: its
// units and timers, its nginx site, its firewall openings, its release folders, its
// users; then the handlers those files had (nginx, fail2ban and nftables reload,
// systemd forgets the units). Its data (databases, backups, the secrets that open
// them) stays unless `Purge::yes`. Shared files, packages and the host's settings are
// never touched. The scripts are pure functions; cli/cmd_destroy.cpp runs them.

#include <core/layout/claims.hpp>
#include <core/manifest/manifest.hpp>

#include <string>

namespace berth::destroy {

enum class Purge { no, yes };

// Reads the app's claim on a server: records "claim content TEXT" when it has one,
// and "lock held yes" while a deploy or another berth run holds the app's lock.
std::string read_script(const manifest::Manifest& m);

// A database of a claim for people: ENGINE/NAME, or the engine alone (Redis).
std::string database_name(const layout::Claim::Database& d);

// What is left of `claim` after a destroy without Purge::yes: its databases and data
// folders, which the other apps' setups still must not take, and a later
// `destroy --purge-data` removes.
layout::Claim remains(const layout::Claim& claim);

// Removes what `claim` says is the app's own on this server, data too with
// Purge::yes (the databases the claim names are dropped on their primary, Redis is
// flushed). Every step may run again: a run cut off anywhere is finished by the next,
// and the claim itself goes last. Records "removed KIND NAME", "kept KIND NAME" (data
// left, and paths that do not name the app, which are never removed), "dropped
// database ENGINE/NAME". Fails naming the step when a handler (nginx -t, a reload)
// or a database drop fails. Without Purge::yes the claim becomes remains(claim).
std::string remove_script(const manifest::Manifest& m, const layout::Claim& claim, Purge purge);

}  // namespace berth::destroy
