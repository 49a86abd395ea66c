#include <core/util/duration.hpp>

#include <catch2/catch.hpp>

using namespace berth::util;
using namespace std::chrono_literals;

TEST_CASE("duration: parses units and sums parts") {
  CHECK(parse_duration("300ms").value() == 300ms);
  CHECK(parse_duration("5s").value() == 5s);
  CHECK(parse_duration("10m").value() == 10min);
  CHECK(parse_duration("240h").value() == 240h);
  CHECK(parse_duration("2d").value() == 48h);
  CHECK(parse_duration("1h30m").value() == 90min);
  CHECK(parse_duration("1m30s500ms").value() == 90500ms);
  CHECK(parse_duration("1.5s").value() == 1500ms);
  CHECK(parse_duration("0").value() == 0ms);
  CHECK(parse_duration("0s").value() == 0ms);
}

TEST_CASE("duration: rejects malformed text with the offset of the problem") {
  SECTION("empty") { CHECK(!parse_duration("").has_value()); }
  SECTION("missing unit") {
    const auto r = parse_duration("300");
    REQUIRE(!r.has_value());
    CHECK(r.error().offset == 3);
    CHECK_THAT(r.error().message, Catch::Contains("missing unit"));
  }
  SECTION("unknown unit") {
    const auto r = parse_duration("1h5x");
    REQUIRE(!r.has_value());
    CHECK(r.error().offset == 3);
    CHECK_THAT(r.error().message, Catch::Contains("unknown unit"));
  }
  SECTION("negative") { CHECK(!parse_duration("-5s").has_value()); }
  SECTION("no number") { CHECK(parse_duration("s").error().offset == 0); }
  SECTION("space inside") { CHECK(!parse_duration("1h 30m").has_value()); }
  SECTION("too long") { CHECK(!parse_duration("99999999999999999d").has_value()); }
}

TEST_CASE("duration: formats in the shortest exact form") {
  CHECK(format_duration(0ms) == "0s");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(1500ms) == "1.5s");
  CHECK(format_duration(1050ms) == "1.05s");
  CHECK(format_duration(5s) == "5s");
  CHECK(format_duration(90min) == "1h30m");
  CHECK(format_duration(240h) == "10d");
  CHECK(format_duration(61001ms) == "1m1s1ms");
  CHECK(format_duration(-2s) == "-2s");
  SECTION("round trip") {
    for (const char* text : {"1h30m", "250ms", "1.5s", "10d", "1m1s1ms"}) {
      CHECK(format_duration(parse_duration(text).value()) == text);
    }
  }
}
