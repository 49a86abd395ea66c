#include <core/manifest/condition_syntax.hpp>
#include <core/manifest/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>

namespace berth::manifest {

namespace {

// The parts of a condition that validate_condition_syntax looks at.
struct Shape {
  std::string placeholder;  // STATUS, BODY...
  std::string suffix;       // ".json.path" after [BODY]
};

// Parses `[PLACEHOLDER]suffix OP value`, `len([...]) OP value` or `has([...]) OP
// value`; nullopt when the condition does not have that shape.
std::optional<Shape> parse_shape(std::string_view s) {
  std::size_t pos = 0;
  const auto skip_space = [&] {
    while (pos < s.size() && text::is_space(s[pos])) ++pos;
  };
  const auto expect = [&](char c) {
    if (pos >= s.size() || s[pos] != c) return false;
    ++pos;
    return true;
  };
  Shape shape;
  const auto placeholder = [&] {
    if (!expect('[')) return false;
    const auto start = pos;
    while (pos < s.size() && (text::is_alpha(s[pos]) || s[pos] == '_')) ++pos;
    shape.placeholder = std::string(s.substr(start, pos - start));
    return !shape.placeholder.empty() && expect(']');
  };
  const auto suffix = [&](std::string_view stops) {
    const auto start = pos;
    while (pos < s.size() && !text::is_space(s[pos]) && stops.find(s[pos]) == std::string_view::npos) {
      ++pos;
    }
    shape.suffix = std::string(s.substr(start, pos - start));
  };
  skip_space();
  if (s.substr(pos).starts_with("len(") || s.substr(pos).starts_with("has(")) {
    pos += 4;
    skip_space();
    if (!placeholder()) return std::nullopt;
    suffix("()");
    skip_space();
    if (!expect(')')) return std::nullopt;
  } else {
    if (!placeholder()) return std::nullopt;
    suffix("=!<>");
  }
  skip_space();
  bool op = false;
  for (std::string_view candidate : {"==", "!=", "<=", ">=", "<", ">"}) {
    if (s.substr(pos).starts_with(candidate)) {
      pos += candidate.size();
      op = true;
      break;
    }
  }
  if (!op) return std::nullopt;
  skip_space();
  if (pos >= s.size()) return std::nullopt;
  return shape;
}

}  // namespace

std::optional<std::string> validate_condition_syntax(std::string_view condition) {
  static constexpr std::array<std::string_view, 8> placeholders{
      "STATUS", "RESPONSE_TIME", "BODY", "CONNECTED", "CERTIFICATE_EXPIRATION",
      "IP", "DNS_RCODE", "DOMAIN_EXPIRATION"};
  const auto shape = parse_shape(condition);
  if (!shape) {
    return fmt::format(
        "condition '{}' is malformed: write [PLACEHOLDER] OP value (e.g. [STATUS] == 200) or "
        "len([BODY].items) > 0",
        condition);
  }
  if (std::find(placeholders.begin(), placeholders.end(), shape->placeholder) ==
      placeholders.end()) {
    return fmt::format("condition '{}': unknown placeholder [{}] (known: [{}])", condition,
                       shape->placeholder, fmt::join(placeholders, "], ["));
  }
  if (!shape->suffix.empty() && (shape->placeholder != "BODY" || shape->suffix.front() != '.')) {
    return fmt::format("condition '{}': only [BODY] takes a path, as [BODY].field", condition);
  }
  return std::nullopt;
}

}  // namespace berth::manifest
