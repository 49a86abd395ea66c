// MongoDB from the vendor's apt repository (Debian has no package): its signing key
// into /usr/share/keyrings, the repository, mongodb-org; auth enabled, bound to
// localhost (and the private address when app servers are other hosts). An
// administrator is created once through the localhost exception, then the app's user
// with readWrite on its database; both passwords are generated secrets.
#include <core/render.hpp>
#include <provisioners/database/database.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace berth::provisioners::database {

using namespace converge;

namespace {

constexpr const char* repository = "https://repo.mongodb.org/apt/debian";
constexpr const char* mongosh = "mongosh --quiet --norc";
// mongod takes a few seconds to accept connections after a (re)start.
constexpr const char* wait_for_mongod =
    "i=0; until mongosh --quiet --norc --eval 1 >/dev/null 2>&1; do i=$((i+1)); "
    "[ $i -lt 60 ] || break; sleep 1; done; ";
// For guards: false at once when mongod is not running (the probe of a fresh host
// must not wait), else wait until it accepts connections.
constexpr const char* mongod_ready =
    "systemctl is-active -q mongod.service || exit 1; "
    "i=0; until mongosh --quiet --norc --eval 1 >/dev/null 2>&1; do i=$((i+1)); "
    "[ $i -lt 60 ] || break; sleep 1; done; ";

}  // namespace

void add_mongodb(const manifest::Manifest& m, const manifest::Server& s,
                 const manifest::Database& db, Desired& out) {
  const auto version = db.version.empty() ? std::string("7.0") : db.version;
  const auto keyring = fmt::format("/usr/share/keyrings/mongodb-server-{}.gpg", version);
  const auto place = placement(m, s);
  const auto secret = password_secret(db);
  const std::string admin_secret = mongodb_admin_secret;
  const bool first = std::none_of(m.databases.begin(), m.databases.end(), [&](const auto& other) {
    return other.engine == manifest::Engine::mongodb && other.key < db.key;
  });
  out.secrets.push_back({secret, secret_path(m, secret), 24});
  if (first) out.secrets.push_back({admin_secret, secret_path(m, admin_secret), 24});

  // The repository must be in place before mongodb-org is installed.
  kainjow::mustache::data list;
  list.set("version", version);
  list.set("codename", out.release.codename);
  list.set("keyring", keyring);
  list.set("repository", repository);
  add_apt_repository({.key_url = fmt::format("https://www.mongodb.org/static/pgp/server-{}.asc", version),
                      .keyring = keyring,
                      .list = fmt::format("/etc/apt/sources.list.d/mongodb-org-{}.list", version),
                      .content = render_template(m.dir, "database/mongodb-org.list.mustache", list),
                      .packages = {"mongodb-org"}},
                     "mongodb", out);

  const auto conf = listen_data(m, place);
  add_once(out, make(File{.path = "/etc/mongod.conf",
                          .content = render_template(m.dir, "database/mongod.conf.mustache", conf)},
                     "mongodb", {"restart:mongod.service"}));
  add_once(out, make(Unit{"mongod.service"}, "mongodb"));

  // Passwords go from the secret files into mongosh's stdin, never into argv.
  const auto admin_file = secret_path(m, admin_secret);
  add_once(
      out,
      make(Command{.run = fmt::format(
                       "{0}pw=$(cat {1}) && printf 'db.getSiblingDB(\"admin\").createUser({{user: "
                       "\"{2}\", pwd: \"%s\", roles: [\"root\"]}})\\n' \"$pw\" | {3}",
                       wait_for_mongod, admin_file, mongodb_admin, mongosh),
                   .unless = fmt::format(
                       "{0}pw=$(cat {1}) && printf 'db.getSiblingDB(\"admin\").auth(\"{2}\", "
                       "\"%s\")\\n' \"$pw\" | {3} 2>/dev/null | grep -q 'ok: 1'",
                       mongod_ready, admin_file, mongodb_admin, mongosh)},
           "mongodb"));
  out.resources.push_back(make(
      Command{
          .run = fmt::format(
              "admin=$(cat {0}) && pw=$(cat {1}) && printf "
              "'db.getSiblingDB(\"admin\").auth(\"{2}\", "
              "\"%s\"); db.getSiblingDB(\"{3}\").createUser({{user: \"{4}\", pwd: \"%s\", roles: "
              "[{{role: \"readWrite\", db: \"{3}\"}}]}})\\n' \"$admin\" \"$pw\" | {5}",
              admin_file, secret_path(m, secret), mongodb_admin, db.name, db.user, mongosh),
          .unless =
              fmt::format("{0}pw=$(cat {1}) && printf 'db.getSiblingDB(\"{2}\").auth(\"{3}\", "
                          "\"%s\")\\n' \"$pw\" | {4} 2>/dev/null | grep -q 'ok: 1'",
                          mongod_ready, secret_path(m, secret), db.name, db.user, mongosh)},
      "mongodb"));

  kainjow::mustache::data tools;
  tools.set("password", secret_placeholder(admin_secret));
  out.resources.push_back(
      make(File{.path = mongodb_tools_config(m, db),
                .content = render_template(m.dir, "database/mongodb-tools.yaml.mustache", tools),
                .mode = "0600",
                .sensitive = Sensitive::yes},
           "mongodb"));
  if (first) open_to_apps(place, 27017, manifest::Engine::mongodb, out);
}

}  // namespace berth::provisioners::database
