#pragma once

// Small text helpers that know nothing of berth.

#include <cstddef>
#include <string>
#include <string_view>

namespace berth::util {

// `text` quoted for POSIX sh: 'text', with each ' written as '\''.
std::string shell_quote(std::string_view text);

// The last `lines` lines of `text` (trailing newlines dropped), for error messages.
std::string tail_lines(std::string_view text, std::size_t lines);

// The Levenshtein distance between `a` and `b`, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace berth::util
