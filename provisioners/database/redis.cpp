// Redis from Debian's packages: bound to localhost (and the private address when app
// servers are other hosts), requirepass from a generated secret, an eviction policy.
// Its settings live in their own file that redis.conf includes last, so the package's
// file stays as shipped apart from that one line.
#include <core/render.hpp>
#include <provisioners/database/database.hpp>

#include <fmt/format.h>

namespace berth::provisioners::database {

using namespace converge;

void add_redis(const manifest::Manifest& m, const manifest::Server& s, const manifest::Database& db,
               Desired& out) {
  const auto secret = password_secret(db);
  const auto place = placement(m, s);
  out.secrets.push_back({secret, secret_path(m, secret), 24});
  out.resources.push_back(make(Package{"redis-server"}, "redis"));
  kainjow::mustache::data conf;
  conf.set("app", m.app.name);
  std::string listen = "127.0.0.1 -::1";
  for (std::size_t i = 1; i < place.listen.size(); ++i)
    listen += " " + place.listen[i];
  conf.set("listen", listen);
  conf.set("password", secret_placeholder(secret));
  // No maxmemory: a pure provisioner does not know the host's memory, and a fixed cap
  // would evict the app's keys silently. The policy applies once an operator sets one.
  conf.set("policy", "allkeys-lru");
  out.resources.push_back(
      make(File{.path = "/etc/redis/berth.conf",
                .content = render_template(m.dir, "database/redis.conf.mustache", conf),
                .owner = "redis",
                .group = "redis",
                .mode = "0640",
                .sensitive = Sensitive::yes},
           "redis", {"restart:redis-server.service"}));
  out.resources.push_back(
      make(Command{.run = "echo 'include /etc/redis/berth.conf' >> /etc/redis/redis.conf",
                   .unless = "grep -qx 'include /etc/redis/berth.conf' /etc/redis/redis.conf"},
           "redis", {"restart:redis-server.service"}));
  out.resources.back().stage = Stage::config;
  out.resources.push_back(make(Unit{"redis-server.service"}, "redis"));
  open_to_apps(place, 6379, manifest::Engine::redis, out);
}

}  // namespace berth::provisioners::database
