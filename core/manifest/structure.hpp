#pragma once

// The first pass of validation: the TOML document against the manifest's Schema
// (unknown keys, wrong types, missing required keys, values not allowed or out of
// range). Pure: it only reads the document and adds Diagnostics.

#include <core/manifest/load.hpp>
#include <core/manifest/schema.hpp>

#include <toml++/toml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::manifest {

// Where `region` starts; `file` when the region carries no path, line 0 when the
// region is empty.
Location location_of(const toml::source_region& region, const std::string& file);

// The candidate closest to `word` by edit distance, when it is close enough to be a
// likely typo (at most 2 edits, or a third of the word); nullopt otherwise.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

// Adds a Diagnostic to `out` for every place where `root` does not fit `schema`.
// `file` names the document for nodes without a source path.
void check_structure(const toml::table& root, const Schema& schema, const std::string& file,
                     std::vector<Diagnostic>& out);

}  // namespace berth::manifest
