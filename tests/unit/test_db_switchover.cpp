#include <core/db/replication.hpp>
#include <core/db/switchover.hpp>
#include <tests/unit/fake_remote.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace berth;
using test::FakeHosts;
using test::FakeRemote;
using test::record;

namespace {

// What each script is recognised by (the rules of a FakeRemote match in order).
constexpr const char* status_mark = "rec pg up yes";
constexpr const char* fence_mark = "pg_controldata";
constexpr const char* promote_mark = "pg_promote";
constexpr const char* unfence_mark = "rm -f \"$data/standby.signal\" && systemctl start";
constexpr const char* follow_mark = "systemctl reload";
constexpr const char* record_mark = "postgresql-primary";
constexpr const char* rejoin_mark = "pg_rewind";

std::string primary_status() { return record("pg", "up", "yes") + record("pg", "recovery", "f"); }
std::string replica_status(std::string receiver = "streaming") {
  return record("pg", "up", "yes") + record("pg", "recovery", "t") + record("pg", "receiver", receiver);
}
std::string fenced(std::string state = "shut down") {
  return record("fence", "active", "yes") + record("fence", "lsn", "0/3000028") + record("fence", "state", state);
}

// Hosts 0 app, 1 db1 (the primary), 2 db2 (its replica).
struct Set {
  FakeHosts hosts{3};
  db::Promotion promotion{.version = "15",
                          .old_primary = {1, "db1", "10.0.0.1"},
                          .target = {2, "db2", "10.0.0.2"},
                          .others = {},
                          .record_on = {0, 1, 2},
                          .record_path = "/etc/berth/shop/postgresql-primary",
                          .old_primary_lost = false};
  FakeRemote& app() { return hosts.remotes[0]; }
  FakeRemote& db1() { return hosts.remotes[1]; }
  FakeRemote& db2() { return hosts.remotes[2]; }
};

bool sent(const FakeRemote& remote, std::string_view mark) {
  return std::any_of(remote.sent.begin(), remote.sent.end(),
                     [&](const std::string& s) { return s.find(mark) != std::string::npos; });
}

}  // namespace

TEST_CASE("switchover: promote fences the old primary, promotes once it replayed, records everywhere") {
  Set set;
  set.db1().answer(record_mark, "").answer(fence_mark, fenced()).answer(status_mark, primary_status());
  set.db2().answer(record_mark, "").answer(promote_mark, record("promote", "lsn", "0/4000000"));
  set.db2().answer(status_mark, replica_status());
  set.app().answer(record_mark, "");
  const auto done = db::promote(set.hosts, set.promotion);
  CHECK(done.fenced);
  CHECK(done.fenced_lsn == "0/3000028");
  CHECK(done.warnings.empty());
  CHECK(done.promoted >= done.writes_stopped);
  // In order: look, fence, then promote with the fence's LSN, then the records.
  REQUIRE(set.db1().sent.size() == 3);
  CHECK(set.db1().sent[1].find(fence_mark) != std::string::npos);
  REQUIRE(set.db2().sent.size() == 3);
  CHECK(set.db2().sent[1].find("lsn='0/3000028'") != std::string::npos);
  CHECK(set.db2().sent[2].find("'db2'") != std::string::npos);
  REQUIRE(set.app().sent.size() == 1);
  CHECK(set.app().sent[0].find(record_mark) != std::string::npos);
}

TEST_CASE("switchover: promote changes nothing unless the target streams and the old primary is known") {
  Set set;
  set.db1().answer(status_mark, primary_status()).answer(fence_mark, fenced());
  SECTION("the replica does not stream") {
    set.db2().answer(status_mark, replica_status("waiting"));
    CHECK_THROWS_WITH(db::promote(set.hosts, set.promotion), Catch::Contains("db2: this replica does not stream"));
    CHECK_FALSE(sent(set.db1(), fence_mark));
  }
  SECTION("the target is a primary already") {
    set.db2().answer(status_mark, primary_status());
    CHECK_THROWS_WITH(db::promote(set.hosts, set.promotion), Catch::Contains("accepts writes already"));
    CHECK_FALSE(sent(set.db1(), fence_mark));
  }
  SECTION("the old primary cannot be reached") {
    set.db2().answer(promote_mark, "").answer(record_mark, "").answer(status_mark, replica_status());
    set.app().answer(record_mark, "");
    set.hosts.unreachable = {false, true, false};
    try {
      db::promote(set.hosts, set.promotion);
      FAIL("promoted without fencing");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::unreachable);
      CHECK(std::string(e.hint()).find("--old-primary-lost") != std::string::npos);
    }
    CHECK_FALSE(sent(set.db2(), promote_mark));
    SECTION("unless it is declared lost: promoted without waiting for an LSN") {
      set.promotion.old_primary_lost = true;
      const auto done = db::promote(set.hosts, set.promotion);
      CHECK_FALSE(done.fenced);
      CHECK(done.fenced_lsn.empty());
      CHECK(sent(set.db2(), "lsn=''"));
      // The record could not be written on db1: a warning says where it is missing.
      REQUIRE(done.warnings.size() == 1);
      CHECK(done.warnings[0].find("web-2: connect: refused") != std::string::npos);
    }
  }
}

TEST_CASE("switchover: a promote cut off after the fence finishes when run again") {
  Set set;
  // db1 stopped and fenced (it does not answer), db2 a replica that has nothing to stream from.
  set.db1().answer(record_mark, "").answer(fence_mark, record("fence", "active", "no") +
                                                          record("fence", "lsn", "0/3000028") +
                                                          record("fence", "state", "shut down"));
  set.db1().answer(status_mark, record("pg", "up", "no") + record("pg", "error", "no socket"));
  set.db2().answer(record_mark, "").answer(promote_mark, "").answer(status_mark, replica_status("waiting"));
  set.app().answer(record_mark, "");
  const auto done = db::promote(set.hosts, set.promotion);
  CHECK(done.fenced_lsn == "0/3000028");
  CHECK(sent(set.db2(), "lsn='0/3000028'"));
  CHECK_FALSE(sent(set.db1(), unfence_mark));
}

TEST_CASE("switchover: a promote that fails after the fence gives the old primary its writes back") {
  Set set;
  set.db1().answer(unfence_mark, "").answer(status_mark, primary_status());
  set.db2().answer(status_mark, replica_status());
  SECTION("the replica does not catch up") {
    set.db1().answer(fence_mark, fenced());
    set.db2().answer(promote_mark, "", 3);
    try {
      db::promote(set.hosts, set.promotion);
      FAIL("promoted");
    } catch (const Error& e) {
      CHECK(std::string(e.hint()) == "db1 is the primary again, as before");
    }
    CHECK(set.db1().sent.back().find(unfence_mark) != std::string::npos);
  }
  SECTION("the old primary was not shut down cleanly: no promotion at all") {
    set.db1().answer(fence_mark, fenced("in production"));
    CHECK_THROWS_WITH(db::promote(set.hosts, set.promotion), Catch::Contains("not shut down cleanly"));
    CHECK(set.db1().sent.back().find(unfence_mark) != std::string::npos);
    CHECK_FALSE(sent(set.db2(), promote_mark));
  }
}

TEST_CASE("switchover: the other replicas follow the new primary") {
  FakeHosts hosts(4);
  db::Promotion p{.version = "",
                  .old_primary = {0, "db1", "10.0.0.1"},
                  .target = {1, "db2", "10.0.0.2"},
                  .others = {{2, "db3", "10.0.0.3"}},
                  .record_on = {},
                  .record_path = "/etc/berth/shop/postgresql-primary",
                  .old_primary_lost = false};
  hosts.remotes[0].answer(fence_mark, fenced()).answer(status_mark, primary_status());
  hosts.remotes[1].answer(promote_mark, "").answer(status_mark, replica_status());
  hosts.remotes[2].answer(follow_mark, "", 1);
  const auto done = db::promote(hosts, p);
  REQUIRE(hosts.remotes[2].sent.size() == 1);
  CHECK(hosts.remotes[2].sent[0].find("primary_conninfo = 'host=10.0.0.2 ") != std::string::npos);
  CHECK(hosts.remotes[2].sent[0].find("application_name=db3") != std::string::npos);
  // Its failure is a warning: the promotion happened.
  REQUIRE(done.warnings.size() == 1);
  CHECK(done.warnings[0].find("web-3") != std::string::npos);
  CHECK(hosts.remotes[3].sent.empty());
}

TEST_CASE("switchover: rejoin streams from the one server that accepts writes") {
  FakeHosts hosts(3);
  db::Rejoin r{.version = "15",
               .member = {0, "db1", "10.0.0.1"},
               .candidates = {{1, "db2", "10.0.0.2"}, {2, "db3", "10.0.0.3"}},
               .record_on = {0, 1, 2},
               .record_path = "/etc/berth/shop/postgresql-primary"};
  hosts.remotes[0].answer(record_mark, "").answer(rejoin_mark, record("rejoin", "method", "rewind"));
  hosts.remotes[1].answer(record_mark, "");
  hosts.remotes[2].answer(record_mark, "").answer(status_mark, replica_status());
  SECTION("the fenced old primary rejoins the promoted replica") {
    hosts.remotes[0].answer(status_mark, record("pg", "up", "no") + record("pg", "error", "no socket"));
    hosts.remotes[1].answer(status_mark, primary_status());
    const auto done = db::rejoin(hosts, r);
    CHECK(done.primary.name == "db2");
    CHECK(done.method == "rewind");
    CHECK(sent(hosts.remotes[0], "primary='10.0.0.2'"));
    CHECK(sent(hosts.remotes[0], "application_name=db1"));
    CHECK(sent(hosts.remotes[2], "printf '%s\\n' 'db2'"));
  }
  SECTION("a server that accepts writes is not turned into a replica") {
    hosts.remotes[0].answer(status_mark, primary_status());
    hosts.remotes[1].answer(status_mark, primary_status());
    CHECK_THROWS_WITH(db::rejoin(hosts, r), Catch::Contains("db1: PostgreSQL here accepts writes"));
    CHECK_FALSE(sent(hosts.remotes[0], rejoin_mark));
  }
  SECTION("no primary, or two: nothing changes") {
    hosts.remotes[0].answer(status_mark, replica_status("stopping"));
    SECTION("none") {
      hosts.remotes[1].answer(status_mark, replica_status());
      CHECK_THROWS_WITH(db::rejoin(hosts, r), Catch::Contains("nothing to stream from"));
    }
    SECTION("two") {
      hosts.remotes[1].answer(status_mark, primary_status());
      hosts.remotes[2] = FakeRemote("web-3");
      hosts.remotes[2].answer(status_mark, primary_status());
      CHECK_THROWS_WITH(db::rejoin(hosts, r), Catch::Contains("db2, db3 all accept writes"));
    }
    CHECK_FALSE(sent(hosts.remotes[0], rejoin_mark));
  }
}

TEST_CASE("replication: scripts keep the password out and name the cluster's folders") {
  const db::Upstream up{"15", "10.0.0.1", "db2"};
  CHECK(db::standby_conf_content(up) ==
        "# berth: this server is a replica of 10.0.0.1 (docs/databases.md, \"Replicas\").\n"
        "primary_conninfo = 'host=10.0.0.1 port=5432 user=berth_replication "
        "passfile=/var/lib/postgresql/.berth-replication.pgpass application_name=db2'\n"
        "primary_slot_name = 'berth_db2'\n");
  for (const auto& script : {db::clone_script(up), db::rejoin_script(up), db::follow_script(up)}) {
    CHECK(script.find("PGPASSFILE=/var/lib/postgresql/.berth-replication.pgpass") != std::string::npos);
    CHECK(script.find("PGPASSWORD") == std::string::npos);
  }
  CHECK(db::clone_script(up).find("-S berth_db2") != std::string::npos);
  CHECK(db::standby_conf("15") == "/etc/postgresql/15/main/conf.d/berth-replica.conf");
  CHECK(db::replica_marker("17") == "/var/lib/postgresql/17/berth-replica");
  CHECK(db::fenced_lsn({{"fence", "lsn", "0/3000028\n"}, {"fence", "state", "shut down"}}) == "0/3000028");
  CHECK_FALSE(db::fenced_lsn({{"fence", "lsn", "0/3000028"}, {"fence", "state", "in production"}}));
  CHECK_FALSE(db::fenced_lsn({{"fence", "lsn", "0/30'; DROP"}, {"fence", "state", "shut down"}}));
}
