#pragma once

// The Debian releases berth supports on servers, and the facts that differ between
// them. A server says which it runs (/etc/os-release, read by the converge probe);
// these facts follow from that, never from a constant elsewhere.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::debian {

struct Release {
  int number = 12;                 // VERSION_ID
  std::string codename;            // VERSION_CODENAME: bookworm, trixie
  std::string postgresql;          // the major version of Debian's `postgresql`
  std::string nodejs;              // the major version of Debian's `nodejs`
  bool nginx_http2_on = false;     // nginx 1.25.1 or later: `http2 on;`, not `listen ... http2`
};

// Debian 12 (bookworm, oldstable) and 13 (trixie, stable).
const std::vector<Release>& supported();
// The release berth assumes for a server it has not probed yet: 12.
const Release& assumed();
// The supported release numbered `number`, or nullopt.
std::optional<Release> find(int number);

// What a server runs, from the converge probe's "os release" record ("ID VERSION_ID
// CODENAME", e.g. "debian 13 trixie", "-" for a missing field): the supported release, or a message naming what
// it runs and what berth supports.
struct Identified {
  std::optional<Release> release;
  std::string problem;
};
Identified identify(std::string_view os_record);

// The release a server ran when berth last probed it (keyed by "ADDRESS:PORT"), kept
// on this machine in $XDG_CACHE_HOME/berth/releases (~/.cache/berth/releases): a hint
// only, so that a Debian 13 server is probed once, not once for 12 and again for 13.
// The probe always has the last word.
std::optional<Release> remembered(const std::string& server);
void remember(const std::string& server, int number);

// "Debian 12 (bookworm) and 13 (trixie)", for messages and docs.
std::string supported_text();

}  // namespace berth::debian
