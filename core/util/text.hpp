#pragma once

// Small text helpers that know nothing of berth.

#include <cstddef>
#include <expected>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::util {

// `text` quoted for POSIX sh: 'text', with each ' written as '\''.
std::string shell_quote(std::string_view text);

// The last `lines` lines of `text` (trailing newlines dropped), for error messages.
std::string tail_lines(std::string_view text, std::size_t lines);

// The Levenshtein distance between `a` and `b`, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The lines of `text`, without their '\n'; a last line without one counts.
std::vector<std::string_view> lines(std::string_view text);

// The words of `line`, split on runs of spaces and tabs.
std::vector<std::string_view> fields(std::string_view line);

// Reads the framed records remote scripts print (the converge probe, the health
// checks): "@@berth SUBJECT FIELD LENGTH\nVALUE\n" each, the value exactly LENGTH bytes
// whatever it holds, then "@@berth end". Calls `record` for each in order; its
// non-empty return stops reading and becomes the error. Fails on anything else (stray
// text, a broken header, a value past the end, no end marker): the parser never guesses.
std::expected<void, std::string> read_records(
    std::string_view output,
    const std::function<std::string(std::string_view subject, std::string_view field, std::string value)>&
        record);

}  // namespace berth::util
