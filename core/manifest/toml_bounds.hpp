#pragma once

// Bounds on what toml++ is given. toml++ parses dotted keys and table headers by
// recursion, one level per part: a key of 100,000 parts overflows the stack (SIGSEGV).
// And it reaches undefined behaviour when it asks whether some non-ASCII characters are
// whitespace (upstream marzer/tomlplusplus#295): it asks outside strings and comments,
// where TOML allows no such character, and right after a backslash in a string.
// Hostile or broken input gets a located error here instead, before toml++ sees it.

#include <core/manifest/manifest.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace berth::manifest {

inline constexpr std::size_t max_toml_bytes = 4 * 1024 * 1024;  // a manifest is a few KB
inline constexpr int max_key_parts = 128;                         // dots outside strings on a line

struct TomlBoundError {
  Location where;
  std::string message;
};

// The first bound `text` (named `origin`) breaks: its size, or a line with more than
// max_key_parts dots outside strings and comments (dotted keys, table headers; floats
// and dates sit in values, one dot each), a non-ASCII character outside strings and
// comments, or one right after a backslash in a string (spaces and newlines between
// them, which a line-ending backslash trims, included). Strings of every TOML form,
// multi-line ones included, and comments are skipped.
std::optional<TomlBoundError> check_toml_bounds(std::string_view text, const std::string& origin);

// `text` with each well-formed non-ASCII UTF-8 character replaced by one '?' (so
// lines and columns stay). toml++ reads what it reads of the real text only when this
// stand-in parses: a document that parses has its non-ASCII characters in strings and
// comments only, where toml++ never asks whether one is whitespace. The bounds above
// cannot see every other place (toml++ reads a broken value up to the next whitespace
// to quote it: `s = 0*"""§"""`, found by tests/fuzz).
std::string ascii_stand_in(std::string_view text);

}  // namespace berth::manifest
