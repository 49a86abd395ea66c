#include <core/util/text.hpp>

#include <catch2/catch.hpp>

using namespace berth::util;

TEST_CASE("text: shell quoting survives any quote") {
  CHECK(shell_quote("plain") == "'plain'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("$(rm -rf /)") == "'$(rm -rf /)'");
  CHECK(shell_quote("a b") == "'a b'");
}

TEST_CASE("text: trim drops whitespace at both ends only") {
  CHECK(trim("  a b\t\r\n") == "a b");
  CHECK(trim("\n\t ").empty());
  CHECK(trim("x") == "x");
}

TEST_CASE("text: about names a subject once") {
  CHECK(about("web", "connect: refused") == "web: connect: refused");
  CHECK(about("web", "web: connect: refused") == "web: connect: refused");
  CHECK(about("web", "web-2: x") == "web: web-2: x");
  CHECK(about("web", "web:") == "web: web:");
}

TEST_CASE("text: the tail of a text, by lines") {
  CHECK(tail_lines("a\nb\nc\n", 2) == "b\nc");
  CHECK(tail_lines("a\nb\n", 5) == "a\nb");
  CHECK(tail_lines("", 3).empty());
  CHECK(tail_lines("a\nb", 0).empty());
}

TEST_CASE("text: edit distance") {
  CHECK(edit_distance("port", "prot") == 2);
  CHECK(edit_distance("address", "adress") == 1);
  CHECK(edit_distance("", "abc") == 3);
}

TEST_CASE("text: lines and fields") {
  CHECK(berth::util::lines("a\nb\n") == std::vector<std::string_view>{"a", "b"});
  CHECK(berth::util::lines("a\n\nb") == std::vector<std::string_view>{"a", "", "b"});
  CHECK(berth::util::fields("  a \tb  c ") == std::vector<std::string_view>{"a", "b", "c"});
}

TEST_CASE("text: parse_decimal reads decimal numbers only") {
  CHECK(berth::util::parse_decimal("12") == 12.0);
  CHECK(berth::util::parse_decimal("-0.5") == -0.5);
  CHECK(berth::util::parse_decimal("1e3") == 1000.0);
  CHECK_FALSE(berth::util::parse_decimal(""));
  CHECK_FALSE(berth::util::parse_decimal("0x10"));
  CHECK_FALSE(berth::util::parse_decimal("inf"));
  CHECK_FALSE(berth::util::parse_decimal(" 1"));
  CHECK_FALSE(berth::util::parse_decimal("1.2.3"));
}
