#pragma once

// Durations written by people: "300ms", "5s", "240h", "1h30m", "2d". Generic: knows
// nothing of berth.

#include <chrono>
#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace berth::util {

// Why a duration could not be parsed: the offset (0-based) in the text where the
// problem starts, and what is wrong.
struct DurationError {
  std::size_t offset = 0;
  std::string message;
};

// Parses a sequence of <number><unit> parts (units: ms, s, m, h, d; numbers may have a
// fraction: "1.5s"), summing them: "1h30m" is 90 minutes. A bare "0" is zero.
// Fails on an empty text, a missing or unknown unit, a negative value or an overflow.
std::expected<std::chrono::milliseconds, DurationError> parse_duration(std::string_view text);

// The shortest exact form of `d` in the same units: 5400000ms -> "1h30m", 1500 -> "1.5s",
// 250 -> "250ms", 0 -> "0s". Negative durations get a leading '-'.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace berth::util
