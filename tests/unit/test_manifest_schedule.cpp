#include <core/manifest/schedule.hpp>

#include <catch2/catch.hpp>

using berth::manifest::is_time_span;
using berth::manifest::to_on_calendar;

namespace {

std::string converted(std::string_view schedule) {
  auto result = to_on_calendar(schedule);
  INFO(schedule);
  INFO((result ? std::string() : result.error()));
  REQUIRE(result.has_value());
  return *result;
}

std::string problem(std::string_view schedule) {
  auto result = to_on_calendar(schedule);
  INFO(schedule);
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

}  // namespace

TEST_CASE("schedule: 5-field cron becomes OnCalendar") {
  CHECK(converted("30 8 * * 1-5") == "Mon..Fri *-*-* 08:30:00");
  CHECK(converted("0 0 * * *") == "*-*-* 00:00:00");
  CHECK(converted("*/15 * * * *") == "*-*-* *:00/15:00");
  CHECK(converted("5 */2 * * *") == "*-*-* 00/2:05:00");
  CHECK(converted("0 3 1 * *") == "*-*-01 03:00:00");
  CHECK(converted("0 3 1,15 1-6 *") == "*-01..06-01,15 03:00:00");
  CHECK(converted("0-30/10 4 * * *") == "*-*-* 04:00,10,20,30:00");
  CHECK(converted("10/20 4 * * *") == "*-*-* 04:10/20:00");
  SECTION("weekdays: 0 and 7 are Sunday, names work, runs are compressed") {
    CHECK(converted("0 9 * * 0") == "Sun *-*-* 09:00:00");
    CHECK(converted("0 9 * * 7") == "Sun *-*-* 09:00:00");
    CHECK(converted("0 9 * * 6,0") == "Sat,Sun *-*-* 09:00:00");
    CHECK(converted("0 9 * * MON-WED") == "Mon..Wed *-*-* 09:00:00");
    CHECK(converted("0 9 * * 1,3,5") == "Mon,Wed,Fri *-*-* 09:00:00");
    CHECK(converted("0 9 * * 0-2") == "Mon,Tue,Sun *-*-* 09:00:00");
    CHECK(converted("0 9 * jan,dec *") == "*-01,12-* 09:00:00");
  }
}

TEST_CASE("schedule: invalid cron fields say which and why") {
  CHECK(problem("61 * * * *").find("minute 61 is out of range (0-59)") != std::string::npos);
  CHECK(problem("0 24 * * *").find("hour 24 is out of range (0-23)") != std::string::npos);
  CHECK(problem("0 0 0 * *").find("day-of-month 0 is out of range (1-31)") != std::string::npos);
  CHECK(problem("0 0 * 13 *").find("month 13") != std::string::npos);
  CHECK(problem("0 0 * * 8").find("day-of-week 8") != std::string::npos);
  CHECK(problem("0 0 * * foo").find("'foo' is not a valid day-of-week") != std::string::npos);
  CHECK(problem("*/0 * * * *").find("invalid step") != std::string::npos);
  CHECK(problem("5-1 * * * *").find("runs backwards") != std::string::npos);
  CHECK(problem("*,5 * * * *").find("'*' cannot be part of a list") != std::string::npos);
  CHECK(problem("0 0 1 * 1").find("both day-of-month and day-of-week") != std::string::npos);
}

TEST_CASE("schedule: named schedules and OnCalendar pass through") {
  CHECK(converted("daily") == "daily");
  CHECK(converted("Hourly") == "hourly");
  CHECK(converted("weekly") == "weekly");
  CHECK(converted("Mon..Fri *-*-* 08:30:00") == "Mon..Fri *-*-* 08:30:00");
  CHECK(converted("*-*-* 03:00:00") == "*-*-* 03:00:00");
  CHECK(converted("03:00") == "03:00");
  CHECK(converted("*:0/15") == "*:0/15");
  CHECK(converted("Sat,Sun 10:00") == "Sat,Sun 10:00");
  CHECK(converted("2026-01-01 00:00:00 UTC") == "2026-01-01 00:00:00 UTC");
  CHECK(converted("*-*-01 04:00:00 Europe/Paris") == "*-*-01 04:00:00 Europe/Paris");
  CHECK(converted("Mon *-*-* 00:00:00") == "Mon *-*-* 00:00:00");
  CHECK(converted("*-02~03") == "*-02~03");
}

TEST_CASE("schedule: nonsense is rejected") {
  for (auto bad : {"", "every day", "fortnightly", "25:99:x", "Mon..Funday 10:00", "* * *",
                   "1 2 3 4 5 6"}) {
    CHECK(problem(bad).find("is neither a 5-field cron") != std::string::npos);
  }
}

TEST_CASE("schedule: time spans") {
  for (auto good : {"1h", "30min", "90s", "1h 30min", "500ms", "2d", "infinity", "10"}) {
    INFO(good);
    CHECK(is_time_span(good));
  }
  for (auto bad : {"", "soon", "1 hour and a bit", "h1", "-5s"}) {
    INFO(bad);
    CHECK_FALSE(is_time_span(bad));
  }
}
