#pragma once

// The probe: one POSIX sh script that reports the current state of every resource of
// a host as framed records (util/frame.hpp: SUBJECT is the resource's index, FIELD
// what was seen), and its parser. The framing is the transport's (Remote::run_script),
// so nothing else on the server's stdout can pass for a record.

#include <core/converge/resource.hpp>
#include <core/util/frame.hpp>

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
  bool unvalidated = false;      // files: a run was cut off before this one passed validation
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
  // Paths of small files whose content is compared with Desired::expectations (not
  // secrets: shown as they are).
  std::vector<std::string> expect_files;
  // A folder whose every file's content is wanted (the claims of the apps on the host,
  // core/layout/claims.hpp); empty: none.
  std::string read_dir;
};

// What a probe run reported.
struct ProbeResult {
  std::vector<Observed> resources;             // same order as the resources probed
  std::map<std::string, std::string> files;    // ProbeExtra::read_files that exist
  std::map<std::size_t, std::string> expected; // index in ProbeExtra::expect_files -> content, when it exists
  std::map<std::string, std::string> facts;    // os, memory_kb, ...
  std::vector<std::string> owed;               // handlers an interrupted run owes (apply.hpp)
  std::map<std::string, std::string> dir_files; // ProbeExtra::read_dir's files: name -> content
};

// The probe script for `resources`: POSIX sh, read-only, run as root.
std::string render_probe(const std::vector<Resource>& resources, const ProbeExtra& extra = {});

// Reads the probe's records. Fails when one names no resource probed, or when the
// script did not get to its end (`ended` false).
std::expected<ProbeResult, std::string> parse_probe(const std::vector<util::Record>& records,
                                                    bool ended, std::size_t resource_count);

}  // namespace berth::converge
