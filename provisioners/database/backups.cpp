// backups: per database with backups.enabled, one script (dump, list, show, restore)
// that both its systemd timer and `berth db` run, dumps in a root-only folder, and the
// timer (backups.schedule, Persistent=true so a missed run happens at boot).
#include <core/manifest/schedule.hpp>
#include <core/render.hpp>
#include <provisioners/database/database.hpp>

#include <fmt/format.h>

#include <cctype>

namespace berth::provisioners::database {

using namespace converge;

namespace {

// The unit the backup must start after, and the dumps' file extension.
struct EngineTraits {
  const char* after;
  const char* ext;
};

EngineTraits traits(manifest::Engine engine) {
  switch (engine) {
  case manifest::Engine::postgresql:
    return {"postgresql.service", "dump"};
  case manifest::Engine::mysql:
    return {"mariadb.service", "sql.gz"};
  case manifest::Engine::redis:
    return {"redis-server.service", "rdb"};
  case manifest::Engine::mongodb:
    return {"mongod.service", "archive.gz"};
  }
  return {"network.target", "dump"};
}

}  // namespace

void add_backups(const manifest::Manifest& m, const manifest::Server& s, const manifest::Database& db,
                 Desired& out) {
  if (!db.backups.enabled) return;
  const auto engine = engine_name(db.engine);
  const auto t = traits(db.engine);
  const auto unit = backup_unit(m, db);
  const auto on_calendar = manifest::to_on_calendar(db.backups.schedule);

  kainjow::mustache::data d;
  d.set("app", m.app.name);
  d.set("key", db.key);
  d.set("name", db.name);
  d.set("engine", engine);
  d.set(engine, true);
  d.set("unit", unit);
  d.set("script", backup_script(m, db));
  d.set("dir", backup_dir(m, db));
  d.set("ext", t.ext);
  d.set("after", t.after);
  d.set("keep_days", std::to_string(db.backups.keep_days));
  d.set("on_calendar", on_calendar ? *on_calendar : db.backups.schedule);
  d.set("password_file", secret_path(m, password_secret(db)));
  d.set("admin", mongodb_admin);
  d.set("tools_config", mongodb_tools_config(m, db));
  const auto verify_unit = layout::verify_unit(m, db);
  const auto query_file = fmt::format("{}/{}.verify.sql", layout::offsite_dir(m), db.key);
  if (m.offsite) {
    d.set("offsite", true);
    d.set("wrapper", layout::restic_wrapper(m));
    d.set("tag", "db:" + db.key);
    d.set("host", s.name);
    d.set("stdin_name", fmt::format("{}.{}", db.key, t.ext));
    d.set("records", layout::offsite_records_dir(m));
    d.set("keep_daily", std::to_string(m.offsite->keep_daily));
    d.set("keep_weekly", std::to_string(m.offsite->keep_weekly));
    d.set("keep_monthly", std::to_string(m.offsite->keep_monthly));
    d.set("verify_unit", verify_unit);
    if (db.backups.verify) {
      const auto& v = *db.backups.verify;
      const auto verify_calendar = manifest::to_on_calendar(v.schedule);
      d.set("verify", true);
      d.set("min", std::to_string(v.min));
      d.set("query_file", query_file);
      d.set("verify_calendar", verify_calendar ? *verify_calendar : v.schedule);
      // A name no manifest value reaches: the key's letters and digits, the rest as _.
      std::string scratch = "berth_verify_";
      for (char c : db.key) scratch += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      d.set("scratch", scratch);
    }
  }

  for (const auto& path :
       {std::string("/var/backups/berth"), "/var/backups/berth/" + m.app.name, backup_dir(m, db)}) {
    add_once(out, make(Directory{.path = path, .mode = "0700"}, "backups"));
  }
  out.resources.push_back(
      make(File{.path = backup_script(m, db),
                .content = render_template(m.dir, "database/backup.sh.mustache", d),
                .mode = "0750",
                .validate = "sh -n {}"},
           "backups"));
  add_timed_service(out, unit, render_template(m.dir, "database/backup.service.mustache", d),
                    render_template(m.dir, "database/backup.timer.mustache", d), "backups");
  if (!m.offsite || !db.backups.verify) return;

  // The query is data: a file the script feeds the engine's client, never pasted in sh.
  out.resources.push_back(make(File{.path = query_file, .content = db.backups.verify->query + "\n", .mode = "0600"},
                               "backups"));
  // Verified on the primary alone: a replica cannot make the scratch database.
  const bool here = database_server(m) != nullptr && database_server(m)->name == s.name;
  add_timed_service(out, verify_unit, render_template(m.dir, "database/verify.service.mustache", d),
                    render_template(m.dir, "database/verify.timer.mustache", d), "backups", here);
}

}  // namespace berth::provisioners::database
