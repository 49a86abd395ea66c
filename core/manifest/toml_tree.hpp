#pragma once

// The project's other TOML files (playbooks) as plain located data, so that only
// core/manifest/ reads TOML and every file of a project reports its problems the same
// way (manifest::Diagnostic: file:line:column).

#include <core/manifest/load.hpp>
#include <core/manifest/manifest.hpp>

#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::manifest {

// One TOML value and where it starts.
struct TomlValue {
  enum class Type { string, integer, floating, boolean, array, table, other };
  Type type = Type::other;
  std::string string;                                       // string
  long long integer = 0;                                    // integer
  bool boolean = false;                                     // boolean
  std::vector<TomlValue> items;                             // array
  std::vector<std::pair<std::string, TomlValue>> entries;   // table, in file order
  Location where;

  // The entry `key` of a table, or nullptr.
  const TomlValue* find(std::string_view key) const;
};

// Parses `text`, named `origin` in locations. A syntax error is one Diagnostic.
std::expected<TomlValue, Diagnostic> parse_toml(std::string_view text, const std::string& origin);

}  // namespace berth::manifest
