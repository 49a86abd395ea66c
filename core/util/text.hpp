#pragma once

// Small text helpers that know nothing of berth.

#include <cstddef>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::util {

// `text` quoted for POSIX sh: 'text', with each ' written as '\''.
std::string shell_quote(std::string_view text);

// `text` without the whitespace (spaces, tabs, line ends) at either end.
std::string trim(std::string_view text);

// The last `lines` lines of `text` (trailing newlines dropped), for error messages.
std::string tail_lines(std::string_view text, std::size_t lines);

// The Levenshtein distance between `a` and `b`, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

// "SUBJECT: MESSAGE", unless `message` already starts with "SUBJECT: " (an error
// from a lower layer that named its host), so that no message names a host twice.
std::string about(std::string_view subject, std::string_view message);

// The lines of `text`, without their '\n'; a last line without one counts.
std::vector<std::string_view> lines(std::string_view text);

// The words of `line`, split on runs of spaces and tabs.
std::vector<std::string_view> fields(std::string_view line);

// A decimal number ("12", "-0.5", "1e3") that is all of `text`, or nullopt. Only
// digits, '.', 'e', 'E', '+' and '-' are read (no "inf", no hex): strtod in the C
// locale, which every standard library has (libc++ lacks from_chars for double).
std::optional<double> parse_decimal(std::string_view text);

}  // namespace berth::util
