#include <core/deploy/release.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace berth;

TEST_CASE("release: migrate presets run the release's own tools, never npx") {
  CHECK(deploy::migrate_command("prisma") == "node_modules/.bin/prisma migrate deploy");
  CHECK(deploy::migrate_command("sequelize") == "node_modules/.bin/sequelize-cli db:migrate");
  CHECK(deploy::migrate_command("drizzle") == "node_modules/.bin/drizzle-kit migrate");
  CHECK(deploy::migrate_command("knex") == "node_modules/.bin/knex migrate:latest");
  CHECK(deploy::migrate_command("alembic") == "alembic upgrade head");
  CHECK(deploy::migrate_command("node migrate.js") == "node migrate.js");
}

TEST_CASE("release: engines.node is read from the build folder's package.json") {
  const auto dir = std::filesystem::temp_directory_path() / ("berth-release-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto with = [&](const std::string& json) {
    std::ofstream(dir / "package.json") << json;
    return deploy::engines_node(dir);
  };
  CHECK(with(R"({"engines": {"node": ">=20", "npm": ">=10"}})") == std::optional<std::string>(">=20"));
  CHECK_FALSE(with(R"({"name": "x"})"));
  CHECK_FALSE(with(R"({"engines": {"npm": ">=10"}})"));
  CHECK_FALSE(with(R"({"engines": {"node": 20}})"));
  CHECK_FALSE(with(R"({"engines": [">=20"]})"));
  CHECK_FALSE(with("not json {"));
  std::filesystem::remove(dir / "package.json");
  CHECK_FALSE(deploy::engines_node(dir));
  std::filesystem::remove_all(dir);
}

TEST_CASE("release: a host's Node.js outside engines.node gets a warning that says what to do") {
  SECTION("no warning when it fits, or when the range is not understood") {
    CHECK_FALSE(deploy::node_engines_warning("web", "v20.19.2", ">=20", ""));
    CHECK_FALSE(deploy::node_engines_warning("web", "v18.19.0\n", "^18.17 || >=20", ""));
    CHECK_FALSE(deploy::node_engines_warning("web", "v18.19.0", "lts/*", ""));
    CHECK_FALSE(deploy::node_engines_warning("web", "", ">=20", ""));
  }
  SECTION("the newest NodeSource major that fits") {
    CHECK(deploy::node_engines_warning("web", "v18.19.0\n", ">=20", "") ==
          "web runs Node.js v18.19.0, which package.json's engines.node \">=20\" does not allow: set node = \"24\" "
          "in [app.run] (Node.js 24 from NodeSource, docs/manifest.md), then run `berth setup`");
    CHECK(deploy::node_engines_warning("web", "v18.19.0", "20.x || 22.x", "")->find("set node = \"22\"") !=
          std::string::npos);
    CHECK(deploy::node_engines_warning("web", "v24.1.0", "<21", "24")->find("set node = \"20\"") !=
          std::string::npos);
  }
  SECTION("node is set and fits, setup has not run since") {
    CHECK(deploy::node_engines_warning("web", "v18.19.0", ">=22", "22") ==
          "web runs Node.js v18.19.0, which package.json's engines.node \">=22\" does not allow: [app.run] node = "
          "\"22\" installs Node.js 22 there once `berth setup` runs");
  }
  SECTION("nothing berth installs fits") {
    CHECK(deploy::node_engines_warning("web", "v18.19.0", "^16", "") ==
          "web runs Node.js v18.19.0, which package.json's engines.node \"^16\" does not allow, and neither does a "
          "major [app.run] node installs from NodeSource (20, 22, 24): change engines.node");
  }
}

TEST_CASE("release: ids differ within one second and sort by time") {
  using namespace std::chrono;
  const auto dir = std::filesystem::temp_directory_path();  // no git work tree: no sha
  const sys_time<milliseconds> t{sys_days{2026y / 12 / 6}.time_since_epoch() + hours(14) + minutes(53) + seconds(58) + milliseconds(7)};
  const auto a = deploy::make_release_id(dir, t);
  const auto b = deploy::make_release_id(dir, t + milliseconds(400));
  const auto c = deploy::make_release_id(dir, t + seconds(1));
  CHECK(a == "20261206T145358.007Z");
  CHECK(b == "20261206T145358.407Z");
  CHECK(a < b);
  CHECK(b < c);
}
