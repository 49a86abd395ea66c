#pragma once

// Maintenance mode (`berth maintenance on|off|status`): nginx on the proxy servers
// answers every visitor with a 503 page carrying Retry-After, while berth's own checks
// (the X-Berth-Check token, core/layout) still reach the app, so deploys work. The
// site (provisioners/proxy) includes layout::maintenance_dir()/*.conf; these scripts
// put or remove the one file there and reload nginx, never touching what setup owns.

#include <core/manifest/manifest.hpp>

#include <string>
#include <string_view>

namespace berth::maintenance {

// The HTML page visitors get: `message` (HTML-escaped), or a default one.
std::string page(const manifest::Manifest& m, std::string_view message);

// The script that turns maintenance on (or updates its page): writes the page, then
// the rule, checks nginx -t (removing the rule when it fails) and reloads nginx.
// Fails, saying to run `berth setup`, on a server whose site predates maintenance.
// Records "maintenance state on".
std::string on_script(const manifest::Manifest& m, std::string_view message);

// The script that turns it off: removes the rule and reloads nginx (nothing to do when
// it is off). Records "maintenance state off".
std::string off_script(const manifest::Manifest& m);

// The script that records "maintenance state on" or "off", changing nothing.
std::string status_script(const manifest::Manifest& m);

}  // namespace berth::maintenance
