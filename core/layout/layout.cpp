#include <core/layout/layout.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

namespace berth::layout {

std::string app_root(const manifest::Manifest& m) { return "/srv/" + m.app.name; }
std::string config_dir(const manifest::Manifest& m) { return "/etc/berth/" + m.app.name; }
std::string maintenance_dir(const manifest::Manifest& m) {
  return "/etc/nginx/berth/" + m.app.name + "/maintenance";
}
std::string check_token_file(const manifest::Manifest& m) {
  return "/etc/nginx/berth/" + m.app.name + "/check.conf";
}
std::string record_check_token(const manifest::Manifest& m) {
  return fmt::format("t=$(sed -n 's/^ *\"\\([0-9a-f]*\\)\" 1;$/\\1/p' {} 2>/dev/null)\n"
                     "[ -z \"$t\" ] || rec state check_token \"$t\"\n",
                     check_token_file(m));
}
std::string env_file(const manifest::Manifest& m) { return config_dir(m) + "/app.env"; }
std::string secret_path(const manifest::Manifest& m, std::string_view name) {
  return fmt::format("{}/secrets/{}", config_dir(m), name);
}

std::vector<int> app_ports(const manifest::Manifest& m, Color color) {
  std::vector<int> ports;
  const int first = m.app.run.port + (color == Color::green ? m.app.run.instances : 0);
  for (int i = 0; i < m.app.run.instances; ++i) ports.push_back(first + i);
  return ports;
}

const char* color_name(Color color) { return color == Color::blue ? "blue" : "green"; }

std::string instances_dir(const manifest::Manifest& m) { return app_root(m) + "/instances"; }
std::string upstream_file(const manifest::Manifest& m) { return config_dir(m) + "/upstream.conf"; }

std::string upstream_content(const std::vector<int>& ports) { return upstream_content("127.0.0.1", ports); }

std::string upstream_dir(const manifest::Manifest& m) { return config_dir(m) + "/upstream.d"; }

std::string upstream_fragment(const manifest::Manifest& m, const manifest::Server& app_server) {
  return fmt::format("{}/{}.conf", upstream_dir(m), app_server.name);
}

std::string upstream_content(const std::string& address, const std::vector<int>& ports,
                             const std::vector<int>& backup) {
  // Passive health: a server that fails once (refused, reset, timed out) gets no
  // requests for 2 s; the request itself goes on to the next (proxy_next_upstream).
  const auto host = upstream_host(address);
  std::string out = "# Managed by berth deploy: the live instances.\n";
  for (int port : ports) out += fmt::format("server {}:{} max_fails=1 fail_timeout=2s;\n", host, port);
  for (int port : backup) out += fmt::format("server {}:{} max_fails=1 fail_timeout=2s backup;\n", host, port);
  return out;
}

std::string upstream_host(const std::string& address) {
  return address.find(':') == std::string::npos ? address : "[" + address + "]";
}

std::vector<const manifest::Server*> remote_app_servers(const manifest::Manifest& m, const manifest::Server& proxy) {
  std::vector<const manifest::Server*> out;
  for (const auto& s : m.servers) {
    if (s.has_role("app") && s.name != proxy.name) out.push_back(&s);
  }
  return out;
}

std::string read_live_color(const manifest::Manifest& m) {
  // The blue ports' first entry, with the space that ends it: 127.0.0.1:3000 is not
  // 127.0.0.1:30001.
  return fmt::format(
      "if grep -q '127.0.0.1:{0} ' {1} 2>/dev/null || [ ! -f {1} ]; then live=blue; else live=green; fi\n",
      m.app.run.port, util::shell_quote(upstream_file(m)));
}

std::string read_live_units(const manifest::Manifest& m) {
  const auto units = [&](Color color) {
    std::string list;
    for (int port : app_ports(m, color)) list += fmt::format("{}{}@{}.service", list.empty() ? "" : " ", m.app.name, port);
    return list;
  };
  return read_live_color(m) + fmt::format("if [ \"$live\" = green ]; then units='{}'; else units='{}'; fi\n",
                                          units(Color::green), units(Color::blue));
}

std::string export_live_port(const manifest::Manifest& m) {
  const int blue = app_ports(m, Color::blue).front();
  const int green = app_ports(m, Color::green).front();
  // Without an upstream file (no proxy here), a color serves when its first instance runs.
  return fmt::format("if [ -f {0} ]; then\n{1}else\n"
                     "  live=blue; systemctl is-active -q {2}@{3}.service && live=green\nfi\n"
                     "if [ \"$live\" = green ]; then BERTH_PORT={3}; else BERTH_PORT={4}; fi\nexport BERTH_PORT\n",
                     util::shell_quote(upstream_file(m)), read_live_color(m), m.app.name, green, blue);
}

std::string start_stopped_live_units(const manifest::Manifest& m) {
  return fmt::format(
      "if [ -e {0}/current ]; then\n{1}"
      "  for u in $units; do\n"
      "    systemctl is-active -q \"$u\" && continue\n"
      "    echo \"$u was not running and nginx sends it requests: starting it\" >&2\n"
      "    systemctl start \"$u\" || true\n"
      "  done\n"
      "fi\n",
      util::shell_quote(app_root(m)), read_live_units(m));
}

std::string nginx_reload(std::string_view fail) {
  // One grep lists the workers (its pattern does not match its own command line);
  // one grep per round tells which of them do not yet shut down.
  return fmt::format(
      "old=$(grep -la '^nginx: worker proces[s]' /proc/[0-9]*/cmdline 2>/dev/null | "
      "xargs -r grep -La '{1}' 2>/dev/null)\n"
      "systemctl reload nginx.service || {0}\n"
      "i=0; while [ -n \"$old\" ] && [ $i -lt 250 ]; do\n"
      "  old=$(printf '%s\\n' $old | xargs -r grep -La '{1}' 2>/dev/null)\n"
      "  [ -n \"$old\" ] || break; sleep 0.02; i=$((i + 1))\n"
      "done\n",
      fail, nginx_shutting_down);
}

const manifest::Server* primary_app_server(const manifest::Manifest& m) {
  for (const auto& s : m.servers) {
    if (s.has_role("app")) return &s;
  }
  return nullptr;
}

const manifest::Server* database_server(const manifest::Manifest& m) {
  for (const auto& s : m.servers) {
    if (s.has_role("db") && !m.is_replica(s.name)) return &s;
  }
  return nullptr;
}

std::string primary_record(const manifest::Manifest& m) { return config_dir(m) + "/postgresql-primary"; }

std::string runtime_path(const manifest::Manifest& m, std::string_view release_dir) {
  if (m.app.run.runtime != "python") return {};
  return fmt::format("{}/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     release_dir);
}

std::string password_secret(const manifest::Database& db) { return "db_" + db.key + "_password"; }

std::string backup_dir(const manifest::Manifest& m, const manifest::Database& db) {
  return fmt::format("/var/backups/berth/{}/{}", m.app.name, db.key);
}

std::string backup_script(const manifest::Manifest& m, const manifest::Database& db) {
  return fmt::format("/usr/local/lib/berth/{}/db-{}", m.app.name, db.key);
}

std::string backup_unit(const manifest::Manifest& m, const manifest::Database& db) {
  return fmt::format("{}-db-{}-backup", m.app.name, db.key);
}

std::string offsite_user(const manifest::Manifest& m) { return "backup-" + m.app.name; }

std::string offsite_target(const manifest::Manifest& m) {
  if (!m.offsite) return {};
  if (m.offsite->s3) return fmt::format("{}/{}", m.offsite->s3->endpoint, m.offsite->s3->bucket);
  if (m.offsite->sftp) return fmt::format("{}@{}:{}", m.offsite->sftp->user, m.offsite->sftp->address, m.offsite->sftp->path);
  return m.offsite->server;
}

std::string offsite_chroot(const manifest::Manifest& m) { return "/srv/berth-backup/" + m.app.name; }

std::string offsite_dir(const manifest::Manifest& m) { return config_dir(m) + "/backup"; }

std::string restic_wrapper(const manifest::Manifest& m) {
  return fmt::format("/usr/local/lib/berth/{}/restic", m.app.name);
}

std::string offsite_records_dir(const manifest::Manifest& m) { return fmt::format("/var/lib/berth/{}/backups", m.app.name); }

std::string offsite_record(const manifest::Manifest& m, const manifest::Database& db, std::string_view what) {
  return fmt::format("{}/{}.{}", offsite_records_dir(m), db.key, what);
}

std::string verify_unit(const manifest::Manifest& m, const manifest::Database& db) {
  return fmt::format("{}-db-{}-verify", m.app.name, db.key);
}

std::string offsite_check_unit(const manifest::Manifest& m) { return m.app.name + "-backup-check"; }

}  // namespace berth::layout
