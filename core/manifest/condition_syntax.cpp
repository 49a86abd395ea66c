#include <core/manifest/condition_syntax.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <regex>

namespace berth::manifest {

std::optional<std::string> validate_condition_syntax(std::string_view condition) {
  static const std::regex shape(
      R"(\s*(?:(len|has)\(\s*\[([A-Za-z_]+)\]([^\s()]*)\s*\)|\[([A-Za-z_]+)\](\S*?))\s*(==|!=|<=|>=|<|>)\s*(\S.*))");
  static constexpr std::array<std::string_view, 8> placeholders{
      "STATUS", "RESPONSE_TIME", "BODY", "CONNECTED", "CERTIFICATE_EXPIRATION",
      "IP", "DNS_RCODE", "DOMAIN_EXPIRATION"};
  const std::string text(condition);
  std::smatch m;
  if (!std::regex_match(text, m, shape)) {
    return fmt::format(
        "condition '{}' is malformed: write [PLACEHOLDER] OP value (e.g. [STATUS] == 200) or "
        "len([BODY].items) > 0",
        condition);
  }
  const bool function = m[1].matched;
  const std::string placeholder = function ? m[2].str() : m[4].str();
  const std::string suffix = function ? m[3].str() : m[5].str();
  if (std::find(placeholders.begin(), placeholders.end(), placeholder) == placeholders.end()) {
    return fmt::format("condition '{}': unknown placeholder [{}] (known: [{}])", condition,
                       placeholder, fmt::join(placeholders, "], ["));
  }
  if (!suffix.empty() && (placeholder != "BODY" || suffix.front() != '.')) {
    return fmt::format("condition '{}': only [BODY] takes a path, as [BODY].field", condition);
  }
  return std::nullopt;
}

}  // namespace berth::manifest
