#include <core/destroy.hpp>
#include <core/layout/layout.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace berth::destroy {

using util::shell_quote;

namespace {

constexpr const char* psql = "runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtAX";
constexpr const char* unit_dir = "/etc/systemd/system/";

bool under(std::string_view path, std::string_view dir) {
  return path == dir ||
         (path.starts_with(dir) && path.size() > dir.size() && path[dir.size()] == '/');
}

// The lines that drop one database of the claim. A PostgreSQL replica (in recovery:
// a switchover may have made it one since the claim was written) drops nothing: its
// primary's drop reaches it.
std::string drop(const manifest::Manifest& m, const layout::Claim::Database& d) {
  const auto what = shell_quote(database_name(d));
  if (d.engine == "postgresql") {
    return fmt::format("if [ \"$(cd / && {0} -c 'SELECT pg_is_in_recovery()')\" = t ]; then\n"
                       "  rec kept database {3}' (a replica: the primary drops it)'\n"
                       "else\n"
                       "  cd / && {0} -c 'DROP DATABASE IF EXISTS \"{1}\" WITH (FORCE)' && {0} -c "
                       "'DROP ROLE IF EXISTS \"{2}\"' "
                       "|| fail \"could not drop the PostgreSQL database {1} or its role {2}\"\n"
                       "  rec dropped database {3}\n"
                       "fi\n",
                       psql, d.name, d.user, what);
  }
  if (d.engine == "mysql") {
    return fmt::format(
        "mysql -e 'DROP DATABASE IF EXISTS `{0}`' || fail \"could not drop the MySQL database "
        "{0}\"\n"
        "for h in $(mysql -NBe \"SELECT Host FROM mysql.user WHERE User='{1}'\"); do\n"
        "  mysql -e \"DROP USER IF EXISTS '{1}'@'$h'\" || fail \"could not drop the MySQL user "
        "{1}@$h\"\n"
        "done\n"
        "rec dropped database {2}\n",
        d.name, d.user, what);
  }
  if (d.engine == "redis") {
    // One app per Redis (the claims refuse a second): all its keys are the app's.
    return fmt::format(
        "pw=$(sed -n 's/^requirepass //p' /etc/redis/berth.conf 2>/dev/null)\n"
        "if systemctl is-active -q redis-server.service; then\n"
        "  REDISCLI_AUTH=$pw redis-cli FLUSHALL >/dev/null || fail 'could not flush Redis'\n"
        "  rec dropped database {}\n"
        "fi\n",
        what);
  }
  (void)m;
  return fmt::format("rec kept database {}\n",
                     shell_quote(database_name(d) + " (drop it with mongosh)"));
}

// The lines that run one handler once the app's files are gone; empty for the app's
// own units (they are gone too) and its release handler.
std::string handler(const std::string& h, const std::set<std::string>& own_units) {
  const auto colon = h.find(':');
  const auto unit = colon == std::string::npos ? std::string() : h.substr(colon + 1);
  if (h == "daemon-reload" || own_units.contains(unit) || h.starts_with("release:")) return {};
  const auto q = shell_quote(unit);
  if (h == "reload:nginx.service") {
    return "if systemctl is-active -q nginx.service; then\n"
           "  nginx -t 2>&1 || fail 'nginx -t failed without the site: nginx keeps running the old "
           "one'\n" +
           layout::nginx_reload("fail 'nginx did not reload'") + "fi\n";
  }
  if (h.starts_with("reexec:")) {
    return fmt::format("/usr/sbin/sshd -t || fail 'sshd -t failed'\n"
                       "if systemctl is-active -q {0}; then systemctl reload {0} || fail 'could "
                       "not reload {0}'; fi\n",
                       q);
  }
  if (h.starts_with("reload:")) {
    return fmt::format("if systemctl is-active -q {0}; then systemctl reload {0} || fail 'could "
                       "not reload {0}'; fi\n",
                       q);
  }
  if (h.starts_with("restart:"))
    return fmt::format("systemctl try-restart {0} || fail 'could not restart {0}'\n", q);
  return {};
}

}  // namespace

std::string database_name(const layout::Claim::Database& d) {
  return d.name == "-" ? d.engine : d.engine + "/" + d.name;
}

layout::Claim remains(const layout::Claim& claim) {
  layout::Claim out;
  out.app = claim.app;
  out.databases = claim.databases;
  out.data = claim.data;
  return out;
}

std::string read_script(const manifest::Manifest& m) {
  return fmt::format("if [ -f {0} ]; then rec_file claim content {0}; fi\n"
                     "if [ -d {1} ]; then rec lock held yes; fi\n"
                     "rec_end\n",
                     shell_quote(layout::claim_file(m.app.name)),
                     shell_quote("/var/lib/berth/" + m.app.name + "/lock"));
}

std::string remove_script(const manifest::Manifest& m, const layout::Claim& claim, Purge purge) {
  const auto& app = m.app.name;
  std::string s = "fail() { echo \"$1\" >&2; exit 1; }\n";
  // 1. The app stops: its instances, its timers and their services.
  s +=
      fmt::format("units=$(systemctl list-units --all --plain --no-legend {0} {1} 2>/dev/null | "
                  "awk '{{ print $1 }}')\n"
                  "[ -z \"$units\" ] || systemctl stop $units\n"
                  "for f in /etc/systemd/system/*.wants/{2}@*.service; do [ -L \"$f\" ] && rm -f "
                  "\"$f\"; done\n",
                  shell_quote(app + "@*.service"), shell_quote(app + "-job-failed@*.service"), app);
  std::set<std::string> own_units;
  for (const auto& o : claim.own) {
    if (o.kind == "unit") own_units.insert(o.name);
    if (o.kind == "file" && o.name.starts_with(unit_dir)) {
      const auto name = o.name.substr(std::string_view(unit_dir).size());
      if (name.find('/') == std::string::npos && name.find("@.") == std::string::npos)
        own_units.insert(name);
    }
  }
  for (const auto& u : own_units) {
    s += fmt::format("if [ -e {0}{1} ]; then systemctl disable --now {2} >/dev/null 2>&1; rec "
                     "removed unit {2}; fi\n",
                     unit_dir, shell_quote(u), shell_quote(u));
  }
  // 2. Its data, when asked: dropped where the claim says the database's primary is.
  std::vector<std::string> data = claim.data;
  if (purge == Purge::yes) {
    for (const auto& d : claim.databases) {
      s += drop(m, d);
    }
    data.clear();
  } else {
    for (const auto& d : claim.databases) {
      s += fmt::format("rec kept database {}\n", shell_quote(database_name(d)));
    }
  }
  // 3. Its files: what names the app and holds no data; a folder that holds data
  // loses the rest.
  std::vector<std::string> paths;
  for (const auto& o : claim.own) {
    if (o.kind == "file" || o.kind == "dir" || o.kind == "link" || o.kind == "path")
      paths.push_back(o.name);
  }
  for (const auto* extra : {"/var/lib/berth/", "/var/cache/berth/", "/usr/local/lib/berth/"})
    paths.push_back(extra + app);
  paths.push_back(layout::config_dir(m));
  if (purge == Purge::yes) paths.insert(paths.end(), claim.data.begin(), claim.data.end());
  paths.push_back(layout::claim_file(app));
  paths.push_back(layout::origin_file(app));
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  s += "prune() {\n"
       "  for p in \"$1\"/* \"$1\"/.[!.]*; do\n"
       "    [ -e \"$p\" ] || [ -L \"$p\" ] || continue\n"
       "    if keep \"$p\"; then rec kept data \"$p\"; elif holds \"$p\"; then prune \"$p\"; else "
       "rm -rf -- \"$p\"; fi\n"
       "  done\n"
       "}\n";
  std::string keep = "keep() { case $1 in ", holds = "holds() { case $1 in ";
  for (const auto& d : data) {
    keep += fmt::format("{0}|{0}/*) return 0 ;; ", shell_quote(d));
    // Its folders above it, up to the first that names the app.
    for (auto at = d.rfind('/'); at != std::string::npos && at > 0; at = d.rfind('/', at - 1)) {
      holds += fmt::format("{}) return 0 ;; ", shell_quote(d.substr(0, at)));
    }
  }
  s += keep + "esac; return 1; }\n" + holds + "esac; return 1; }\n";
  std::set<std::string> handlers{"daemon-reload"};
  for (const auto& o : claim.own)
    handlers.insert(o.handlers.begin(), o.handlers.end());
  for (const auto& p : paths) {
    const auto q = shell_quote(p);
    // Claims claim_file() and origin_file() last: a run cut off before them runs again.
    if (p == layout::claim_file(app) || p == layout::origin_file(app)) continue;
    if (p.find(app) == std::string::npos || p == "/" || !p.starts_with('/')) {
      s += fmt::format("rec kept path {}\n", shell_quote(p + " (it does not name the app)"));
      continue;
    }
    const bool kept =
        std::any_of(data.begin(), data.end(), [&](const auto& d) { return under(p, d); });
    const bool holding =
        std::any_of(data.begin(), data.end(), [&](const auto& d) { return under(d, p) && d != p; });
    if (kept) {
      s += fmt::format("if [ -e {0} ]; then rec kept data {0}; fi\n", q);
    } else if (holding) {
      s += fmt::format("if [ -d {0} ]; then prune {0}; rec removed path {0}; fi\n", q);
    } else {
      s += fmt::format(
          "if [ -e {0} ] || [ -L {0} ]; then rm -rf -- {0} || fail \"could not remove {1}\"; "
          "rec removed path {0}; fi\n",
          q, p);
    }
  }
  // Handlers owed for the app's own units would fail on the next run of another app.
  for (const auto& u : own_units)
    s += fmt::format("rm -f /var/lib/berth/owed/*:{}\n", shell_quote(u));
  s += fmt::format("rm -f /var/lib/berth/owed/{}\n", shell_quote("release:" + app));
  // 4. What had read those files forgets them: systemd, nginx, fail2ban, nftables, sshd.
  s += "systemctl daemon-reload\n";
  for (const auto& h : handlers)
    s += handler(h, own_units);
  // 5. Its users and groups, once nothing of the app runs as them.
  for (const auto& o : claim.own) {
    if (o.kind != "user") continue;
    s += fmt::format(
        "if id -u {0} >/dev/null 2>&1; then pkill -KILL -u {0} 2>/dev/null; sleep 0.2; "
        "userdel {0} || fail 'could not remove the user {1}'; rec removed user {0}; fi\n",
        shell_quote(o.name), o.name);
  }
  for (const auto& o : claim.own) {
    if (o.kind != "group") continue;
    s += fmt::format("if getent group {0} >/dev/null; then groupdel {0} 2>/dev/null; rec removed "
                     "group {0}; fi\n",
                     shell_quote(o.name));
  }
  // 6. The claim: from now on the app is not on this server, or only its data is, which
  // other apps must still leave alone and a later --purge-data finds.
  if (purge == Purge::yes || (claim.databases.empty() && claim.data.empty())) {
    s += fmt::format("rm -f {} {}\n", shell_quote(layout::claim_file(app)),
                     shell_quote(layout::origin_file(app)));
  } else {
    s += fmt::format(
        "cat > {0}.berth-new <<'BERTH_CLAIM'\n{1}BERTH_CLAIM\nmv -f {0}.berth-new {0}\n",
        shell_quote(layout::claim_file(app)), layout::render_claim(remains(claim)));
  }
  return s + "rec_end\n";
}

}  // namespace berth::destroy
