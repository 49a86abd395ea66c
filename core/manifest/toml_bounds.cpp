#include <core/manifest/toml_bounds.hpp>

#include <fmt/format.h>

namespace berth::manifest {

std::optional<TomlBoundError> check_toml_bounds(std::string_view text, const std::string& origin) {
  if (text.size() > max_toml_bytes) {
    return TomlBoundError{{origin, 0, 0},
                          fmt::format("the file is {} bytes; berth reads TOML files of at most {} MiB",
                                      text.size(), max_toml_bytes / (1024 * 1024))};
  }
  enum class In { code, comment, basic, literal, ml_basic, ml_literal };
  In in = In::code;
  int line = 1, column = 1, dots = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const auto next_is = [&](std::string_view s) { return text.substr(i, s.size()) == s; };
    if (c == '\n') {
      ++line;
      column = 1;
      dots = 0;
      if (in == In::comment || in == In::basic || in == In::literal) in = In::code;
      continue;
    }
    switch (in) {
      case In::code:
        if (c == '#') {
          in = In::comment;
        } else if (next_is("\"\"\"")) {
          in = In::ml_basic;
          i += 2, column += 2;
        } else if (next_is("'''")) {
          in = In::ml_literal;
          i += 2, column += 2;
        } else if (c == '"') {
          in = In::basic;
        } else if (c == '\'') {
          in = In::literal;
        } else if (c == '.' && ++dots > max_key_parts) {
          return TomlBoundError{{origin, line, column},
                                fmt::format("more than {} dotted parts on one line; berth reads keys and "
                                            "table headers of at most {} parts",
                                            max_key_parts, max_key_parts)};
        }
        break;
      case In::comment: break;
      case In::basic:
        if (c == '\\') {
          ++i, ++column;  // the escaped character (a newline is not valid there anyway)
        } else if (c == '"') {
          in = In::code;
        }
        break;
      case In::literal:
        if (c == '\'') in = In::code;
        break;
      case In::ml_basic:
        if (c == '\\') {
          ++i, ++column;
          if (i < text.size() && text[i] == '\n') ++line, column = 0;
        } else if (next_is("\"\"\"")) {
          in = In::code;
          i += 2, column += 2;
        }
        break;
      case In::ml_literal:
        if (next_is("'''")) {
          in = In::code;
          i += 2, column += 2;
        }
        break;
    }
    ++column;
  }
  return std::nullopt;
}

}  // namespace berth::manifest
