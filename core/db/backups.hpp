#pragma once

// What `berth db` runs on a database server: the database's backup script (installed
// by berth setup, provisioners/database/backups.cpp) with a verb, and what it prints.

#include <core/util/frame.hpp>

#include <cstdint>
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

// The verbs of the backup script.
enum class Verb { backup, list, show, restore };

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
