#include <core/destroy.hpp>
#include <core/util/process.hpp>
#include <core/util/text.hpp>
#include <provisioners/provisioner.hpp>
#include <tests/unit/desired.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace berth;
using berth::test::has;

namespace {

manifest::Manifest shop() {
  manifest::Manifest m;
  m.app.name = "shop";
  m.app.run.command = "node server.js";
  m.app.run.port = 3000;
  m.servers = {{.name = "web", .address = "198.18.0.2"}};
  m.databases = {{.key = "main",
                  .engine = manifest::Engine::postgresql,
                  .name = "shop",
                  .user = "shop",
                  .env_var = "DATABASE_URL"}};
  m.jobs = {{.name = "reminders", .schedule = "daily", .on_calendar = "daily", .command = "true"}};
  m.proxy = manifest::Proxy{};
  return m;
}

layout::Claim destroy_claim_of(const manifest::Manifest& m) {
  manifest::SecretSources secrets(m, [](const std::string&) { return std::nullopt; });
  return layout::parse_claim(m.app.name,
                             provisioners::desired_state(m, m.servers[0], secrets).claim);
}

// `sh -n`: the script parses (its prelude's rec/rec_end are the frame's).
void parses(const std::string& script) {
  const auto ran = run_process({"sh", "-n", "-c", script}, {.timeout = std::chrono::seconds(10)});
  REQUIRE(ran);
  INFO(ran->err);
  CHECK(ran->exit_code == 0);
}

}  // namespace

TEST_CASE("destroy: the app's own goes, its data and the shared files stay") {
  const auto m = shop();
  const auto claim = destroy_claim_of(m);
  const auto s = destroy::remove_script(m, claim, destroy::Purge::no);
  parses(s);
  // Its instances, timers and services stop first.
  CHECK(has(s, "systemctl list-units --all --plain --no-legend 'shop@*.service' "
               "'shop-job-failed@*.service'"));
  CHECK(has(s, "systemctl disable --now 'shop-job-reminders.timer'"));
  CHECK(s.find("systemctl disable --now 'shop-job-reminders.timer'") <
        s.find("rm -rf -- '/srv/shop'"));
  // Its files; a folder holding data keeps it.
  CHECK(has(s, "rm -rf -- '/etc/nginx/sites-enabled/shop.conf'"));
  CHECK(has(s, "rm -rf -- '/etc/berth/firewall.d/shop.nft'"));
  CHECK(has(s, "prune '/etc/berth/shop';"));
  CHECK(has(
      s, "keep() { case $1 in '/etc/berth/shop/secrets'|'/etc/berth/shop/secrets'/*) return 0 ;;"));
  CHECK_FALSE(has(s, "rm -rf -- '/etc/berth/shop/secrets'"));
  CHECK_FALSE(has(s, "rm -rf -- '/var/backups/berth/shop'"));
  // Never what another app shares.
  CHECK_FALSE(has(s, "/etc/nftables.conf"));
  CHECK_FALSE(has(s, "sshd_config.d/00-berth.conf"));
  CHECK_FALSE(has(s, "DROP DATABASE"));
  CHECK(has(s, "rec kept database 'postgresql/shop'"));
  // Then what read them, and its user; the owed handlers of its units go too.
  CHECK(has(s, "nginx -t"));
  CHECK(has(s, "systemctl reload 'nftables.service'"));
  CHECK(has(s, "rm -f /var/lib/berth/owed/*:'shop-job-reminders.timer'"));
  CHECK(has(s, "userdel 'shop'"));
  CHECK(s.find("systemctl daemon-reload") < s.find("userdel 'shop'"));
  // The claim stays, naming the data alone.
  const auto left = destroy::remains(claim);
  CHECK(left.own.empty());
  CHECK(left.host.empty());
  CHECK(left.first_port == 0);
  CHECK(left.databases.size() == 1);
  CHECK(has(s, "cat > '/etc/berth/apps.d/shop.claim'.berth-new <<'BERTH_CLAIM'\n" +
                   layout::render_claim(left) + "BERTH_CLAIM\n"));
}

TEST_CASE("destroy: --purge-data drops the databases on their primary and removes the data and the "
          "claim") {
  auto m = shop();
  SECTION("postgresql") {
    const auto s = destroy::remove_script(m, destroy_claim_of(m), destroy::Purge::yes);
    parses(s);
    CHECK(has(s, "DROP DATABASE IF EXISTS \"shop\" WITH (FORCE)"));
    CHECK(has(s, "DROP ROLE IF EXISTS \"shop\""));
    CHECK(has(s, "rm -rf -- '/etc/berth/shop' "));
    CHECK(has(s, "rm -f '/etc/berth/apps.d/shop.claim' '/etc/berth/apps.d/shop.origin'"));
    // A claim left by a destroy without it: its data alone.
    const auto again =
        destroy::remove_script(m, destroy::remains(destroy_claim_of(m)), destroy::Purge::yes);
    parses(again);
    CHECK(has(again, "DROP DATABASE IF EXISTS \"shop\""));
    CHECK(has(again, "rm -rf -- '/var/backups/berth/shop' "));
    CHECK(has(again, "rm -rf -- '/etc/berth/shop/secrets' "));
  }
  SECTION("a replica drops nothing: its primary's drop reaches it") {
    const auto s = destroy::remove_script(m, destroy_claim_of(m), destroy::Purge::yes);
    CHECK(s.find("SELECT pg_is_in_recovery()") < s.find("DROP DATABASE"));
  }
  SECTION("mysql, redis") {
    m.databases = {{.key = "main",
                    .engine = manifest::Engine::mysql,
                    .name = "shop",
                    .user = "shop",
                    .env_var = "DATABASE_URL"},
                   {.key = "cache",
                    .engine = manifest::Engine::redis,
                    .name = "0",
                    .user = "shop",
                    .env_var = "REDIS_URL"}};
    const auto s = destroy::remove_script(m, destroy_claim_of(m), destroy::Purge::yes);
    parses(s);
    CHECK(has(s, "DROP DATABASE IF EXISTS `shop`"));
    CHECK(has(s, "DROP USER IF EXISTS 'shop'@'$h'"));
    CHECK(has(s, "redis-cli FLUSHALL"));
    CHECK(has(s, "rec dropped database 'redis'\n"));
  }
}

TEST_CASE("destroy: a path of the claim that does not name the app is never removed") {
  const auto m = shop();
  auto claim = destroy_claim_of(m);
  claim.own.push_back({.kind = "file", .name = "/etc/passwd"});
  claim.own.push_back({.kind = "dir", .name = "/"});
  const auto s = destroy::remove_script(m, claim, destroy::Purge::yes);
  CHECK_FALSE(has(s, "rm -rf -- '/etc/passwd'"));
  CHECK_FALSE(has(s, "rm -rf -- '/' "));
  CHECK(has(s, "rec kept path '/etc/passwd (it does not name the app)'"));
}

TEST_CASE("claims: --change-host-settings gives every other claim this app's host lines") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("berth-claims-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string own = "# c\n# c\nhost timezone Europe/Berlin\nhost swap auto\nports 1 2\n";
  const auto swap = [&](std::string text) {
    for (auto at = text.find(layout::claims_dir); at != std::string::npos;
         at = text.find(layout::claims_dir, at))
      text.replace(at, std::string_view(layout::claims_dir).size(), dir.string());
    return text;
  };
  const auto own_file = std::string(layout::claims_dir) + "/a.claim";
  std::ofstream(dir / "a.claim") << own;
  std::ofstream(dir / "b.claim")
      << "# b\n# b\nhost timezone UTC\nhost swap auto\nports 5 6\nsite default\n";
  const auto taken = [&] {
    return run_process({"sh", "-c", swap(layout::host_settings_taken_test(own, own_file))}, {})
               ->exit_code == 0;
  };
  CHECK_FALSE(taken());
  const auto ran =
      run_process({"sh", "-c", swap(layout::take_host_settings_script(own, own_file))}, {});
  REQUIRE(ran);
  CHECK(ran->exit_code == 0);
  std::ifstream in(dir / "b.claim");
  const std::string b((std::istreambuf_iterator<char>(in)), {});
  CHECK(b == "# b\n# b\nhost timezone Europe/Berlin\nhost swap auto\nports 5 6\nsite default\n");
  CHECK(taken());
  std::filesystem::remove_all(dir);
}
