#pragma once

// What `berth db` runs on a database server: the database's backup script (installed
// by berth setup, provisioners/database/backups.cpp) with a verb, and what it prints.

#include <core/util/frame.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::db {

// One dump on the server, as the script reports it ("@@backup PATH BYTES MODIFIED").
struct BackupFile {
  std::string path;
  std::uint64_t bytes = 0;
  std::string modified;  // UTC, 2026-11-25T10:00:00Z
};

// The verbs of the backup script. With [backups] (off-host): backup, snapshots, show ID,
// restore ID, verify; without: backup, list, show FILE, restore FILE.
enum class Verb { backup, list, show, restore, snapshots, verify };

// One snapshot of a database in the off-host repository, with what the server that
// listed it recorded of it (its dump's size, its last verification there).
struct Snapshot {
  std::string id;                       // restic's short id
  std::string time;                     // as restic gives it, to the second
  std::string host;                     // the db server that took it
  std::optional<std::uint64_t> bytes;   // the dump's size, when known
  std::string verified;                 // "" (never), "ok" or "failed"
  std::string verified_at;              // UTC, when verified is set
  std::string detail;                   // ok: the query's value; failed: why
};

// The snapshots in the script's output ("@@snapshot ID TIME HOST BYTES|-", oldest
// first), each with the "@@record last|verify EPOCH ID ..." lines about it merged in.
std::vector<Snapshot> parse_snapshots(const std::vector<util::Record>& records);

// What `verify` reported ("@@verified ID ok|failed DETAIL"), if it reported.
struct Verification {
  std::string snapshot;
  bool ok = false;
  std::string detail;
};
std::optional<Verification> parse_verification(const std::vector<util::Record>& records);

// The sh script that runs `script VERB [FILE]` on the server and reports its stdout in
// one framed record ("db output"), exiting with its status. It exits 127 with a
// message saying to run berth setup when the script is not installed.
std::string command(std::string_view script, Verb verb, std::string_view file = {});

// The dumps in the script's output (command()'s record), in order; other lines are
// ignored, malformed "@@backup" lines too.
std::vector<BackupFile> parse_backups(const std::vector<util::Record>& records);

// Whether the script's output says a restore finished ("@@restored PATH").
bool restored(const std::vector<util::Record>& records);

// "1.2 MB", "512 B": a size for people.
std::string human_size(std::uint64_t bytes);

}  // namespace berth::db
