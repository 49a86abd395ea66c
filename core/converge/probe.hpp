#pragma once

// The probe: one POSIX sh script that reports the current state of every resource of
// a host in a framed form, and its parser. Framing: every value is a record
//   @@berth <subject> <field> <length>\n<length bytes>\n
// so the parser never guesses where a value ends, whatever the value holds.

#include <core/converge/resource.hpp>

#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::converge {

// What the probe saw of one resource.
struct Observed {
  bool exists = false;           // file/dir/symlink/user/group/unit present; package installed
  std::string type;              // path resources: "file", "directory", "symlink", "other"
  std::string hash;              // files: sha256 of the content, hex
  std::string owner;             // files and directories
  std::string group;
  std::string mode;              // 4 octal digits
  std::optional<std::string> content;  // files up to 256 KiB that are not sensitive
  std::string target;            // symlinks
  std::string version;           // packages
  bool enabled = false;          // units
  bool active = false;           // units
  std::string active_state;      // units: active, inactive, failed, ...
  std::string shell;             // users
  std::string home;              // users
  std::vector<std::string> groups;  // users: supplementary groups
  bool guard_satisfied = false;  // commands: `creates` exists or `unless` succeeded
};

// Values the probe reads for the engine beyond resources (generated secrets, facts).
struct ProbeExtra {
  // name -> path of a file whose whole content is wanted (generated secrets).
  std::map<std::string, std::string> read_files;
};

// What a probe run reported.
struct ProbeResult {
  std::vector<Observed> resources;             // same order as the resources probed
  std::map<std::string, std::string> files;    // ProbeExtra::read_files that exist
  std::map<std::string, std::string> facts;    // os, memory_kb, ...
};

// The probe script for `resources`: POSIX sh, read-only, run as root.
std::string render_probe(const std::vector<Resource>& resources, const ProbeExtra& extra = {});

// Parses the probe's stdout. Fails (with a message naming the offset) when the
// framing is broken, which means the script did not run to its end.
std::expected<ProbeResult, std::string> parse_probe(std::string_view output,
                                                    std::size_t resource_count);

}  // namespace berth::converge
