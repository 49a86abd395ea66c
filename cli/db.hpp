#pragma once

// What the `berth db` subcommands share: cmd_db.cpp (backup, list, restore) and
// db_replicas.cpp (promote, rejoin).

#include <cli/cli.hpp>
#include <core/manifest/manifest.hpp>

#include <string>

namespace berth::cli {

// [databases.NAME] of the manifest, or a usage error listing the names there are.
const manifest::Database& find_database(const manifest::Manifest& m, const std::string& name);

// Adds `promote` and `rejoin` to `berth db`.
void add_db_replicas(CLI::App* db, Cli& cli);

}  // namespace berth::cli
