#include <core/db/backups.hpp>

#include <catch2/catch.hpp>
#include <tests/unit/framed.hpp>

using namespace berth;
using berth::test::db_output;

TEST_CASE("backups: snapshots are listed oldest first with what this server recorded of them") {
  const auto snapshots = db::parse_snapshots(db_output(
      "made the repository\n"
      "@@snapshot a1b2c3d4 2026-11-24T03:00:05Z db1 1048576\n"
      "@@snapshot e5f6a7b8 2026-11-25T03:00:04Z db2 -\n"
      "@@snapshot 0badf00d 2026-11-26T03:00:03Z db1\n"
      "@@snapshot broken\n"
      // The server's history ("record" lines), oldest first; ids as the script cut them.
      "@@record last 1790000000 e5f6a7b8 2048\n"
      "@@record last 1790000000 a1b2c3d4 9999\n"
      "@@record verify 1790000000 a1b2c3d4 ok 1532\n"
      "@@record verify 1790003600 a1b2c3d4 failed the copy does not restore: pg_restore: error\n"
      "@@record verify 1790003600 e5f6a7b8 ok 17\n"
      "@@record verify 1790007200 e5f6a7b8 maybe 1\n"
      "@@record verify 1790007200 - failed no copy in the repository\n"
      "@@record last 1790007200\n"));
  REQUIRE(snapshots.size() == 3);
  const auto& first = snapshots[0];
  CHECK(first.id == "a1b2c3d4");
  CHECK(first.time == "2026-11-24T03:00:05Z");
  CHECK(first.host == "db1");
  // The repository's size wins over the record's.
  CHECK(first.bytes == 1048576u);
  // The later verification is the one that counts, its detail its own.
  CHECK(first.verified == "failed");
  CHECK(first.verified_at == "2026-09-21T15:13:20Z");
  CHECK(first.detail == "the copy does not restore: pg_restore: error");

  const auto& second = snapshots[1];
  CHECK(second.host == "db2");
  // "-": restic knew no size; the server's record of its backup gives it.
  CHECK(second.bytes == 2048u);
  // An unknown result is no verification.
  CHECK(second.verified == "ok");
  CHECK(second.detail == "17");
  CHECK(second.verified_at == "2026-09-21T15:13:20Z");

  const auto& third = snapshots[2];
  CHECK(third.id == "0badf00d");
  CHECK_FALSE(third.bytes);
  CHECK(third.verified.empty());
  CHECK(third.verified_at.empty());
  CHECK(third.detail.empty());

  SECTION("records name a snapshot by its short or its whole id") {
    const auto whole =
        db::parse_snapshots(db_output("@@snapshot a1b2c3d4 2026-11-24T03:00:05Z db1 -\n"
                                   "@@record last 1790000000 a1b2c3d4e5f60718293a4b5c6d7e8f90 77\n"
                                   "@@record verify 1790000000 a1b2 ok 5\n"));
    REQUIRE(whole.size() == 1);
    CHECK(whole[0].bytes == 77u);
    CHECK(whole[0].verified == "ok");
  }
  SECTION("a record of no listed snapshot adds none") {
    const auto none = db::parse_snapshots(db_output("@@record last 1790000000 a1b2c3d4 77\n"));
    CHECK(none.empty());
  }
  SECTION("lines outside the output record are no snapshots") {
    CHECK(db::parse_snapshots(
              test::framed("@@snapshot a1b2c3d4 2026-11-24T03:00:05Z db1 1\n").records)
              .empty());
    CHECK(db::parse_snapshots({}).empty());
  }
}

TEST_CASE("backups: the verify verb's report") {
  SECTION("ok, with the query's value") {
    const auto v = db::parse_verification(db_output("restoring\n@@verified a1b2c3d4 ok 1532\n"));
    REQUIRE(v);
    CHECK(v->snapshot == "a1b2c3d4");
    CHECK(v->ok);
    CHECK(v->detail == "1532");
  }
  SECTION("failed, with why in words") {
    const auto v =
        db::parse_verification(db_output("@@verified a1b2c3d4 failed the query gave 3, below 10\n"));
    REQUIRE(v);
    CHECK_FALSE(v->ok);
    CHECK(v->detail == "the query gave 3, below 10");
  }
  SECTION("no report: none") {
    CHECK_FALSE(db::parse_verification(db_output("verification of snapshot a1b2c3d4 failed\n")));
    CHECK_FALSE(db::parse_verification(db_output("@@verified a1b2c3d4\n")));
    CHECK_FALSE(db::parse_verification({}));
  }
  SECTION("the verbs' names") {
    CHECK(db::command("/s", db::Verb::snapshots).find("out=$('/s' snapshots); rc=$?\n") !=
          std::string::npos);
    CHECK(db::command("/s", db::Verb::verify).find("out=$('/s' verify); rc=$?\n") !=
          std::string::npos);
    CHECK(db::command("/s", db::Verb::show, "latest").find("out=$('/s' show 'latest'); rc=$?\n") !=
          std::string::npos);
  }
}
