#pragma once

// npm's version ranges (package.json "engines", "dependencies"), matched against a
// release version. Generic: knows nothing of berth.

#include <optional>
#include <string_view>

namespace berth::util {

// Whether `version` ("20.11.1", "v20.11.1") satisfies the npm range `range`, read as
// npm's node-semver does: comparators `>=`, `>`, `<=`, `<`, `=` and a bare version,
// partial versions and x-ranges (`20`, `20.x`, `20.11.*`, `*`), `~` (and `~>`), `^`,
// hyphen ranges (`18 - 20.5`), comparators joined by spaces (all must hold) and
// alternatives joined by `||` (one must). An empty range is `*`.
// nullopt when either is in a form this does not read (a prerelease or build tag,
// a word like "latest" or "lts/*", a malformed version): a caller that warns on a
// mismatch then says nothing rather than raise a false alarm.
std::optional<bool> satisfies_range(std::string_view version, std::string_view range);

}  // namespace berth::util
