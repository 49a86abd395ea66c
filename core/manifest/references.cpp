// The syntax of values: ${env:NAME}, ${secret:NAME} and $${. Pure text work, apart
// from values.cpp (which resolves them, running secret commands): the manifest's
// checks and its fuzz target need only this.
#include <core/manifest/text.hpp>
#include <core/manifest/values.hpp>

#include <fmt/format.h>

namespace berth::manifest {

std::expected<std::vector<ValuePiece>, std::string> split_value(std::string_view text) {
  std::vector<ValuePiece> pieces;
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "$${") == 0) {
      literal += "${";
      i += 2;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      literal += text[i];
      continue;
    }
    const auto close = text.find('}', i);
    if (close == std::string_view::npos) {
      return std::unexpected(fmt::format("'${{' at offset {} is never closed with '}}'", i));
    }
    const auto inner = std::string(text.substr(i + 2, close - i - 2));
    const auto colon = inner.find(':');
    const auto kind = inner.substr(0, colon);
    if (colon == std::string::npos || (kind != "env" && kind != "secret")) {
      return std::unexpected(fmt::format(
          "'${{{}}}' is not a reference: write ${{env:NAME}} or ${{secret:NAME}} (or $${{ for a "
          "literal '${{')",
          inner));
    }
    const auto name = inner.substr(colon + 1);
    const auto start = [](char c) { return text::is_alpha(c) || c == '_'; };
    if (!text::is_word(name, start, [&](char c) { return start(c) || text::is_digit(c); })) {
      return std::unexpected(fmt::format(
          "'{}' in '${{{}}}' is not a valid name (letters, digits and '_', not starting with a "
          "digit)",
          name, inner));
    }
    if (!literal.empty()) pieces.push_back({std::move(literal), std::nullopt});
    literal.clear();
    pieces.push_back(
        {{}, Reference{kind == "env" ? Reference::Kind::env : Reference::Kind::secret, name}});
    i = close;
  }
  if (!literal.empty()) pieces.push_back({std::move(literal), std::nullopt});
  return pieces;
}

std::expected<std::vector<Reference>, std::string> parse_references(std::string_view text) {
  auto pieces = split_value(text);
  if (!pieces) return std::unexpected(pieces.error());
  std::vector<Reference> refs;
  for (auto& piece : *pieces) {
    if (piece.reference) refs.push_back(std::move(*piece.reference));
  }
  return refs;
}

}  // namespace berth::manifest
