#include <core/manifest/toml_bounds.hpp>

#include <fmt/format.h>

namespace berth::manifest {

std::optional<TomlBoundError> check_toml_bounds(std::string_view text, const std::string& origin) {
  if (text.size() > max_toml_bytes) {
    return TomlBoundError{{origin, 0, 0},
                          fmt::format("the file is {} bytes; berth reads TOML files of at most {} MiB",
                                      text.size(), max_toml_bytes / (1024 * 1024))};
  }
  // toml++ (3.3.0, Debian 12's) asks whether such a character is whitespace, and its
  // table for that has holes it treats as unreachable (undefined behaviour; upstream
  // marzer/tomlplusplus#295, fixed after 3.4.0).
  const auto after_backslash = [&](int at_line, int at_column) {
    return TomlBoundError{{origin, at_line, at_column},
                          "a non-ASCII character right after a backslash in a string: berth's TOML reader "
                          "cannot take it there; write it as an escape (\\u00e9) or start the line "
                          "with an ASCII character"};
  };
  enum class In { code, comment, basic, literal, ml_basic, ml_literal };
  In in = In::code;
  int line = 1, column = 1, dots = 0;
  const std::size_t bom = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;  // toml++ skips a UTF-8 byte order mark
  for (std::size_t i = bom; i < text.size(); ++i) {
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
        } else if (static_cast<unsigned char>(c) >= 0x80) {
          return TomlBoundError{{origin, line, column},
                                "a non-ASCII character outside quotes and comments; TOML keys are ASCII "
                                "(quote a key that needs other characters: \"név\" = 1)"};
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
          if (i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80) {
            return after_backslash(line, column + 1);
          }
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
          // A line-ending backslash trims the spaces and newlines after it; toml++ asks
          // of each character after the backslash whether it is one of them.
          std::size_t j = i + 1;
          int at_line = line, at_column = column + 1;
          for (; j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n'); ++j) {
            if (text[j] == '\n') {
              ++at_line, at_column = 1;
            } else {
              ++at_column;
            }
          }
          if (j < text.size() && static_cast<unsigned char>(text[j]) >= 0x80) return after_backslash(at_line, at_column);
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

std::string ascii_stand_in(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  if (text.starts_with("\xEF\xBB\xBF")) {  // a byte order mark stays one: toml++ skips it
    out += text.substr(0, 3);
    i = 3;
  }
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool whole = n > 1 && i + n <= text.size();
    for (std::size_t k = 1; whole && k < n; ++k) whole = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (n == 1 || !whole) {
      out += text[i];  // ASCII, or a broken sequence toml++ refuses by itself
      ++i;
    } else {
      out += '?';
      i += n;
    }
  }
  return out;
}

}  // namespace berth::manifest
