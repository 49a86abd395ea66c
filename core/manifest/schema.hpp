#pragma once

// The shape of berth.toml as data: every table, key, type, range and allowed value.
// One description serves three purposes: `berth check` walks the TOML against it
// (unknown keys, wrong types, missing keys, values out of range), `berth schema`
// prints it as JSON Schema, and docs/manifest.md follows it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace berth::manifest {

// One node of the manifest's shape.
struct Schema {
  enum class Type { string, integer, boolean, array, table, any_of };

  Type type = Type::string;
  std::string name;                       // the key, for a property of a table
  bool required = false;                  // for a property: must be present
  std::string description;
  std::vector<std::string> allowed;       // strings: the only values allowed (empty: any)
  std::optional<std::int64_t> minimum;    // integers
  std::optional<std::int64_t> maximum;
  std::vector<Schema> properties;         // tables: the known keys
  std::vector<Schema> element;            // arrays: one item schema; tables with free
                                          // keys (maps): one value schema
  std::vector<Schema> alternatives;       // any_of: the shapes accepted

  // The property named `key` of a table, or nullptr.
  const Schema* property(std::string_view key) const;
  // Whether this table takes keys of its own choosing ([servers.NAME]).
  bool is_map() const { return type == Type::table && !element.empty(); }
};

// The shape of a whole berth.toml (built once, never fails).
const Schema& manifest_schema();

// `schema` as a JSON Schema (draft-07) document, with descriptions, for editors
// (Taplo, VS Code "Even Better TOML").
nlohmann::json to_json_schema(const Schema& schema);

}  // namespace berth::manifest
