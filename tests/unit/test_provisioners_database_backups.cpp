#include <core/db/backups.hpp>
#include <tests/unit/framed.hpp>

#include <catch2/catch.hpp>

using namespace berth;
using berth::test::db_output;

TEST_CASE("backups: the script's report lines are parsed, other lines ignored") {
  const auto files = db::parse_backups(db_output(
      "deleted old backup /var/backups/berth/shop/pg/pg-20261101T000000Z.dump\n"
      "@@backup /var/backups/berth/shop/pg/pg-20261125T101500Z.dump 123456 2026-11-25T10:15:00Z\n"
      "@@backup /var/backups/berth/shop/pg/with space.dump 7 2026-11-25T10:16:00Z\n"
      "@@backup broken-line\n"
      "@@backup /x notanumber 2026-11-25T10:16:00Z\n"));
  REQUIRE(files.size() == 2);
  CHECK(files[0].path == "/var/backups/berth/shop/pg/pg-20261125T101500Z.dump");
  CHECK(files[0].bytes == 123456);
  CHECK(files[0].modified == "2026-11-25T10:15:00Z");
  CHECK(files[1].path == "/var/backups/berth/shop/pg/with space.dump");
  CHECK(db::parse_backups({}).empty());
  SECTION("a report line outside the record is no report") {
    CHECK(db::parse_backups(test::framed("@@backup /a 1 2026-11-25T10:16:00Z\n").records).empty());
  }
}

TEST_CASE("backups: the command runs the installed script, quoting the file") {
  const auto script =
      db::command("/usr/local/lib/berth/shop/db-pg", db::Verb::restore, "/tmp/it's.dump");
  CHECK(script.find("if [ ! -x '/usr/local/lib/berth/shop/db-pg' ]") != std::string::npos);
  CHECK(script.find("run berth setup") != std::string::npos);
  CHECK(script.find("out=$('/usr/local/lib/berth/shop/db-pg' restore '/tmp/it'\\''s.dump'); rc=$?\n") !=
        std::string::npos);
  CHECK(script.find("rec db output \"$out\"\nexit $rc\n") != std::string::npos);
  CHECK(db::command("/s", db::Verb::backup).find("out=$('/s' backup); rc=$?\n") != std::string::npos);
}

TEST_CASE("backups: restored and human sizes") {
  CHECK(db::restored(db_output("x\n@@restored /var/backups/a.dump\n")));
  CHECK_FALSE(db::restored(db_output("@@backup /a 1 t\n")));
  CHECK(db::human_size(512) == "512 B");
  CHECK(db::human_size(1234567) == "1.2 MB");
}
