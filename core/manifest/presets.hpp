#pragma once

// The starter manifests `berth init` writes.

#include <optional>
#include <string_view>
#include <vector>

namespace berth::manifest {

// A commented berth.toml to start from.
struct Preset {
  std::string_view name;         // minimal, node-postgres
  std::string_view description;
  std::string_view text;         // the manifest
};

// Every preset, the default (minimal) first.
const std::vector<Preset>& presets();

// The preset called `name`, or nullopt.
std::optional<Preset> find_preset(std::string_view name);

}  // namespace berth::manifest
