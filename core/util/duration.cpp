#include <core/util/duration.hpp>
#include <core/util/text.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

namespace berth::util {

namespace {

struct Unit {
  std::string_view name;
  double ms;
};

// Longest names first, so that "ms" is not read as "m".
constexpr Unit units[] = {{"ms", 1.0}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}, {"d", 86400e3}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::expected<std::chrono::milliseconds, DurationError> parse_duration(std::string_view text) {
  if (text.empty()) return std::unexpected(DurationError{0, "empty duration"});
  if (text == "0") return std::chrono::milliseconds{0};
  double total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    if (text[i] == '-') return std::unexpected(DurationError{i, "a duration cannot be negative"});
    while (i < text.size() && is_digit(text[i])) ++i;
    std::size_t digits = i - start;
    if (i < text.size() && text[i] == '.') {
      ++i;
      const std::size_t frac_start = i;
      while (i < text.size() && is_digit(text[i])) ++i;
      digits += i - frac_start;
    }
    if (digits == 0) {
      return std::unexpected(
          DurationError{start, "expected a number, as in 300ms, 5s, 10m, 240h or 1h30m"});
    }
    const double value = parse_decimal(text.substr(start, i - start)).value_or(0);
    const Unit* unit = nullptr;
    for (const auto& u : units) {
      if (text.substr(i).starts_with(u.name)) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      return std::unexpected(DurationError{
          i, i == text.size() ? "missing unit (ms, s, m, h or d) after the number"
                              : "unknown unit; use ms, s, m, h or d"});
    }
    i += unit->name.size();
    total += value * unit->ms;
  }
  if (total > static_cast<double>(std::numeric_limits<std::int64_t>::max() / 2)) {
    return std::unexpected(DurationError{0, "duration too long"});
  }
  return std::chrono::milliseconds{static_cast<std::int64_t>(std::llround(total))};
}

std::string format_duration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  // Below a minute, seconds with a fraction read best ("1.5s", "250ms").
  if (ms < 60'000) {
    if (ms < 1000) return out + std::to_string(ms) + "ms";
    std::string s = std::to_string(ms / 1000);
    if (const auto frac = ms % 1000; frac != 0) {
      std::string f = std::to_string(frac);
      f.insert(0, 3 - f.size(), '0');
      while (f.back() == '0') f.pop_back();
      s += "." + f;
    }
    return out + s + "s";
  }
  constexpr std::pair<std::int64_t, const char*> parts[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& [size, name] : parts) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

}  // namespace berth::util
