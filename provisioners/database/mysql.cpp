// MySQL as Debian ships it (MariaDB): bound to 127.0.0.1 (and the private address when
// app servers are other hosts), a database and a user with a generated password,
// created through the mysql client as root over the unix socket.
#include <core/render.hpp>
#include <provisioners/database/database.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace berth::provisioners::database {

using namespace converge;

namespace {

// Rendered once for every MySQL database: the package, the bind address, the service.
void add_server(const manifest::Manifest& m, const manifest::Server& s, Desired& out) {
  const auto place = placement(m, s);
  add_once(out, make(Package{"mariadb-server"}, "mysql"));
  const auto conf = listen_data(m, place);
  // mariadbd --help --verbose parses every option file and fails on unknown options.
  add_once(out, make(File{.path = "/etc/mysql/mariadb.conf.d/60-berth.cnf",
                          .content = render_template(m.dir, "database/mysql.cnf.mustache", conf),
                          .validate = "mariadbd --user=mysql --help --verbose >/dev/null"},
                     "mysql", {"restart:mariadb.service"}));
  add_once(out, make(Unit{"mariadb.service"}, "mysql"));
  open_to_apps(place, 3306, manifest::Engine::mysql, out);
}

}  // namespace

void add_mysql(const manifest::Manifest& m, const manifest::Server& s, const manifest::Database& db,
               Desired& out) {
  const bool first = std::none_of(m.databases.begin(), m.databases.end(), [&](const auto& other) {
    return other.engine == manifest::Engine::mysql && other.key < db.key;
  });
  if (first) add_server(m, s, out);
  const auto secret = password_secret(db);
  out.secrets.push_back({secret, secret_path(m, secret), 24});
  out.resources.push_back(make(
      Command{.run = fmt::format("mysql -e 'CREATE DATABASE IF NOT EXISTS `{}`'", db.name),
              .unless = fmt::format("mysql -NBe \"SELECT 1 FROM information_schema.schemata WHERE "
                                    "schema_name='{}'\" | grep -qx 1",
                                    db.name)},
      "mysql"));
  // One account per host the app connects from: the socket (localhost), 127.0.0.1,
  // and the app servers. The password goes from the secret file to the client's stdin.
  std::vector<std::string> hosts = {"localhost", "127.0.0.1"};
  for (const auto& address : placement(m, s).peers)
    hosts.push_back(address);
  for (const auto& host : hosts) {
    out.resources.push_back(make(
        Command{.run =
                    fmt::format("pw=$(cat {0}) && printf \"CREATE USER IF NOT EXISTS '{1}'@'{2}' "
                                "IDENTIFIED BY '%s';\\nGRANT ALL PRIVILEGES ON \\`{3}\\`.* TO "
                                "'{1}'@'{2}';\\n\" \"$pw\" | mysql",
                                secret_path(m, secret), db.user, host, db.name),
                .unless = fmt::format("mysql -NBe \"SELECT 1 FROM mysql.user WHERE User='{}' AND "
                                      "Host='{}'\" | grep -qx 1",
                                      db.user, host)},
        "mysql"));
  }
}

}  // namespace berth::provisioners::database
