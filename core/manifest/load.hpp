#pragma once

// Reading and validating berth.toml.

#include <core/manifest/manifest.hpp>

#include <optional>
#include <string>
#include <vector>

namespace berth::manifest {

enum class Severity { error, warning };

// One problem found in a manifest, located as file:line:column.
struct Diagnostic {
  Location where;
  Severity severity = Severity::error;
  std::string message;                   // "unknown key 'prot' in [servers.web]; did you mean 'port'?"

  // "file:line:col: error: message"
  std::string to_string() const;
};

// The outcome of reading a manifest: every diagnostic found (all at once, not just
// the first), and the manifest when there was no error.
struct LoadResult {
  std::optional<Manifest> manifest;
  std::vector<Diagnostic> diagnostics;

  bool ok() const { return manifest.has_value(); }
};

// Reads `path`, merges berth.ENV.toml from the same folder over it when `env` is not
// empty (tables merge key by key; arrays and values replace), and validates the
// result. Never throws for a problem in the manifest: it becomes a Diagnostic. A
// missing file is a Diagnostic too.
LoadResult load(const std::string& path, const std::string& env = {});

// load(), then throws berth::Error listing every diagnostic when there is an error.
// Warnings are returned in `warnings` when it is given.
Manifest load_or_throw(const std::string& path, const std::string& env = {},
                       std::vector<Diagnostic>* warnings = nullptr);

// The servers named by --hosts and having one of --role (both optional; empty
// means all), in manifest order. Throws berth::Error naming an unknown server or
// role, or when nothing is left.
std::vector<const Server*> select_servers(const Manifest& manifest,
                                          const std::vector<std::string>& hosts,
                                          const std::vector<std::string>& roles);

}  // namespace berth::manifest
