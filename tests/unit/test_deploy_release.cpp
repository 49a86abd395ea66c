#include <core/deploy/release.hpp>

#include <catch2/catch.hpp>

using namespace berth;

TEST_CASE("release: migrate presets run the release's own tools, never npx") {
  CHECK(deploy::migrate_command("prisma") == "node_modules/.bin/prisma migrate deploy");
  CHECK(deploy::migrate_command("sequelize") == "node_modules/.bin/sequelize-cli db:migrate");
  CHECK(deploy::migrate_command("drizzle") == "node_modules/.bin/drizzle-kit migrate");
  CHECK(deploy::migrate_command("knex") == "node_modules/.bin/knex migrate:latest");
  CHECK(deploy::migrate_command("alembic") == "alembic upgrade head");
  CHECK(deploy::migrate_command("node migrate.js") == "node migrate.js");
}
