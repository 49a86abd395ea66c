#pragma once

// Small text predicates for the manifest checks. Written by hand instead of with
// std::regex: GCC 12 warns inside <regex> (-Wmaybe-uninitialized) when building with
// sanitizers, which -Werror turns into a broken build.

#include <cstddef>
#include <string_view>

namespace berth::manifest::text {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
inline bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
inline bool is_alpha(char c) { return is_lower(c) || is_upper(c); }
inline bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Whether `s` is 1..max characters, the first satisfying `first` and the others `rest`.
template <class First, class Rest>
bool is_word(std::string_view s, First first, Rest rest, std::size_t max = std::string_view::npos) {
  if (s.empty() || s.size() > max || !first(s.front())) return false;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (!rest(s[i])) return false;
  }
  return true;
}

// Whether `s` is one or more digits.
inline bool is_number(std::string_view s) {
  return is_word(s, is_digit, is_digit);
}

// Whether `s` is digits followed by one character of `units` (optional unless
// `unit_required`): "10m", "512", "1G".
inline bool is_size(std::string_view s, std::string_view units, bool unit_required) {
  if (!s.empty() && units.find(s.back()) != std::string_view::npos) {
    return is_number(s.substr(0, s.size() - 1));
  }
  return !unit_required && is_number(s);
}

// Consumes digits at `pos` (and a ".digits" fraction when `fraction`); returns how
// many characters were consumed (0: no number there).
inline std::size_t scan_number(std::string_view s, std::size_t pos, bool fraction) {
  std::size_t end = pos;
  while (end < s.size() && is_digit(s[end])) ++end;
  if (end == pos) return 0;
  if (fraction && end + 1 < s.size() && s[end] == '.' && is_digit(s[end + 1])) {
    ++end;
    while (end < s.size() && is_digit(s[end])) ++end;
  }
  return end - pos;
}

}  // namespace berth::manifest::text
