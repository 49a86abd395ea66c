#pragma once

// The local half of a deploy: the release id, the build command, the tarball.

#include <core/error.hpp>
#include <core/manifest/manifest.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace berth::deploy {

// "20261125T153000.123Z" (UTC, to the millisecond) plus "-<git short sha>" when `dir`
// is inside a git work tree. Ids sort by time as strings.
std::string make_release_id(const std::filesystem::path& dir,
                            std::chrono::system_clock::time_point now);

// The folder a release is packed from: app.build.dir relative to the manifest.
std::filesystem::path build_dir(const manifest::Manifest& m);

// Runs app.build.command with /bin/sh in build_dir(), streaming its output lines to
// `line`. Throws berth::Error with the exit status and the last lines of output when
// it fails. Does nothing when there is no build command.
void run_build(const manifest::Manifest& m, const std::function<void(std::string_view)>& line);

// Packs build_dir() into `tarball` (plain tar: the upload streams it into `tar -x`), leaving out app.build.ignore patterns and
// .git. Throws berth::Error when tar fails.
void pack_release(const manifest::Manifest& m, const std::filesystem::path& tarball);

// The "engines": {"node": RANGE} of `dir`/package.json, or nullopt (no such file, not
// JSON, no such string).
std::optional<std::string> engines_node(const std::filesystem::path& dir);

// The warning for `host`, whose `node --version` printed `version`, when that does not
// satisfy `range` (package.json's engines.node): it names the host, the version, the
// range and what to do given [app.run] node (`configured`; empty: Debian's nodejs).
// nullopt when the version satisfies the range, or when util::satisfies_range does
// not read one of them (never a false alarm).
std::optional<std::string> node_engines_warning(std::string_view host, std::string_view version,
                                                std::string_view range, std::string_view configured);

// The command a migrate setting stands for: a preset (prisma, sequelize, drizzle,
// knex: the release's own node_modules/.bin/TOOL; alembic: the virtualenv's) or the
// text itself. It runs in the release's folder (docs/manifest.md lists what each reads).
std::string migrate_command(const std::string& migrate);

}  // namespace berth::deploy
