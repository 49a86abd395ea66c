// berth db backup|list|backups|verify|restore NAME and db backup-key: run the backup
// script that berth setup installed for [databases.NAME] on the db servers (the same
// script its timers run), and print what it reports. Without [backups] the backups are
// dumps on the server (list, restore FILE); with it, snapshots in the off-host restic
// repository (backups, verify, restore --snapshot, backup-key).
#include <cli/cli.hpp>
#include <cli/db.hpp>
#include <cli/hosts.hpp>
#include <core/db/backups.hpp>
#include <core/error.hpp>
#include <core/manifest/load.hpp>
#include <core/util/text.hpp>
#include <provisioners/database/database.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>

namespace berth::cli {

const manifest::Database& find_database(const manifest::Manifest& m, const std::string& name) {
  std::string names;
  for (const auto& db : m.databases) {
    if (db.key == name) return db;
    names += (names.empty() ? "" : ", ") + db.key;
  }
  throw Error(fmt::format("{} has no [databases.{}]", m.path.string(), name), ExitCode::usage,
              names.empty() ? "it declares no database" : "its databases: " + names);
}

namespace {

struct DbFlags {
  std::string name;
  std::string file;
  std::string snapshot;
  bool yes = false;
};

// With [backups], the backups are restic snapshots in the off-host repository.
bool offsite(const manifest::Manifest& m) { return m.offsite.has_value(); }

// The database's backup script, or an error when backups are off for it.
std::string script_of(const manifest::Manifest& m, const manifest::Database& db) {
  if (!db.backups.enabled) {
    throw Error(
        fmt::format("backups are disabled for [databases.{}] (backups.enabled = false)", db.key),
        ExitCode::usage, "enable them and run `berth setup` to install the backup script");
  }
  return provisioners::database::backup_script(m, db);
}

// The db servers chosen by --hosts (and --role, default db).
Selection open_db_hosts(const GlobalOptions& global, const manifest::Manifest& m, Ui& ui) {
  auto selection = global;
  if (selection.roles.empty()) selection.roles = {"db"};
  return open_hosts(selection, m, ui);
}

// The one db server a command that needs one works on: the one --hosts names, else the
// primary (the server that makes the databases' secrets).
Selection open_one_db_host(const GlobalOptions& global, const manifest::Manifest& m, Ui& ui) {
  auto selection = global;
  if (selection.hosts.empty() && selection.roles.empty()) {
    if (const auto* primary = provisioners::database_server(m)) selection.hosts = {primary->name};
  }
  if (selection.roles.empty()) selection.roles = {"db"};
  auto hosts = open_hosts(selection, m, ui);
  if (hosts.servers.size() != 1) {
    throw Error(fmt::format("{} db servers are selected; this works on one", hosts.servers.size()),
                ExitCode::usage, "choose it with --hosts NAME");
  }
  return hosts;
}

// Refuses a command of the other kind of backups: off-host snapshots or local dumps.
void need_offsite(const manifest::Manifest& m, const manifest::Database& db, bool wanted, std::string_view what) {
  if (offsite(m) == wanted) return;
  if (wanted) {
    throw Error(fmt::format("{}: the backups of [databases.{}] are local dumps: there is no [backups] repository",
                            what, db.key),
                ExitCode::usage, fmt::format("berth db list {} lists the dumps", db.key));
  }
  throw Error(fmt::format("{}: the backups of [databases.{}] go to the off-host repository ([backups])", what,
                          db.key),
              ExitCode::usage, fmt::format("berth db backups {} lists them; restore one with --snapshot ID", db.key));
}

// What one host answered.
struct Answer {
  bool ok = false;
  std::vector<util::Record> records;
  std::string error;                 // names the host
  std::string hint;
  bool unreachable = false;
};

// Runs `script` on every host in parallel; its stderr lines are shown with -v, and the
// last ones are in the error of a host where it failed.
std::vector<Answer> run_everywhere(Selection& hosts, Ui& ui, const std::string& script,
                                   const std::string& step) {
  std::vector<Answer> answers(hosts.servers.size());
  const auto results = hosts.fleet.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
    const auto ran = remote.run_script(script, Privilege::root, [&](Stream stream, std::string_view line) {
      if (stream == Stream::err) ui.detail(fmt::format("{}: {}", remote.name(), line));
    });
    if (ran) answers[i].records = ran->records;
    return script_ok(remote, step, ran, 5);
  });
  for (std::size_t i = 0; i < answers.size(); ++i) {
    auto& a = answers[i];
    a.ok = results[i].ok();
    if (results[i].error) {
      a.error = results[i].error->what();
      a.hint = results[i].error->hint();
      a.unreachable = results[i].unreachable();
    }
  }
  return answers;
}

// Prints the failed hosts and returns the exit status: 0, 1, or 5 when a host was not reached.
int report_errors(Selection& hosts, Ui& ui, const std::vector<Answer>& answers) {
  int status = 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (answers[i].ok) continue;
    ui.error(util::about(hosts.servers[i]->name, answers[i].error.empty() ? "no answer" : answers[i].error),
             answers[i].hint);
    status = answers[i].unreachable ? static_cast<int>(ExitCode::unreachable)
                                    : std::max(status, static_cast<int>(ExitCode::failure));
  }
  return status;
}

nlohmann::json to_json(const db::BackupFile& f) {
  return {{"path", f.path}, {"bytes", f.bytes}, {"modified", f.modified}};
}

nlohmann::json to_json(const db::Snapshot& s) {
  nlohmann::json j = {{"id", s.id},
                      {"time", s.time},
                      {"host", s.host},
                      {"bytes", s.bytes ? nlohmann::json(*s.bytes) : nlohmann::json()},
                      {"verified", s.verified.empty() ? nlohmann::json() : nlohmann::json(s.verified)}};
  if (!s.verified.empty()) {
    j["verified_at"] = s.verified_at;
    j["detail"] = s.detail;
  }
  return j;
}

std::string size_of(const db::Snapshot& s) { return s.bytes ? db::human_size(*s.bytes) : "-"; }

// berth db backup NAME: a dump now on each db server.
int run_backup(const GlobalOptions& global, Ui& ui, const DbFlags& flags) {
  const auto m = manifest::load_or_throw(global.file, global.env);
  const auto& database = find_database(m, flags.name);
  const auto script = script_of(m, database);
  auto hosts = open_db_hosts(global, m, ui);
  for (const auto* s : hosts.servers)
    ui.progress(fmt::format("{}: backing up {}", s->name, database.key));
  auto answers = run_everywhere(hosts, ui, db::command(script, db::Verb::backup), "the backup");
  nlohmann::json json = nlohmann::json::array();
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const auto& host = hosts.servers[i]->name;
    // What the script made: one snapshot in the repository, or one dump on the server.
    struct Made {
      const char* key;
      nlohmann::json value;
      std::string line;
    };
    std::optional<Made> made;
    if (const auto snaps = db::parse_snapshots(answers[i].records); offsite(m) && snaps.size() == 1) {
      made = Made{"snapshot", to_json(snaps[0]),
                  fmt::format("{}: snapshot {} ({}) in the repository on {}", host, snaps[0].id, size_of(snaps[0]),
                              layout::offsite_target(m))};
    } else if (const auto files = db::parse_backups(answers[i].records); !offsite(m) && files.size() == 1) {
      made = Made{"file", to_json(files[0]),
                  fmt::format("{}: {} ({})", host, files[0].path, db::human_size(files[0].bytes))};
    }
    if (answers[i].ok && !made) {
      answers[i].ok = false;
      answers[i].error = fmt::format("{}: the backup script reported no {}{}", host,
                                     offsite(m) ? "snapshot" : "file",
                                     offsite(m) ? " (run berth setup if [backups] is new)" : "");
    }
    if (!answers[i].ok) {
      json.push_back({{"host", host}, {"ok", false}, {"error", answers[i].error}});
      continue;
    }
    json.push_back({{"host", host}, {"ok", true}, {made->key, made->value}});
    ui.out(made->line);
  }
  const int status = report_errors(hosts, ui, answers);
  if (ui.json()) ui.emit_json({{"database", database.key}, {"ok", status == 0}, {"hosts", json}});
  return status;
}

// berth db list NAME: the dumps on each db server, oldest first.
int run_list(const GlobalOptions& global, Ui& ui, const DbFlags& flags) {
  const auto m = manifest::load_or_throw(global.file, global.env);
  const auto& database = find_database(m, flags.name);
  const auto script = script_of(m, database);
  need_offsite(m, database, false, "db list");
  auto hosts = open_db_hosts(global, m, ui);
  const auto answers =
      run_everywhere(hosts, ui, db::command(script, db::Verb::list), "listing the backups");
  nlohmann::json json = nlohmann::json::array();
  std::vector<std::array<std::string, 4>> rows;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const auto& host = hosts.servers[i]->name;
    if (!answers[i].ok) {
      json.push_back(
          {{"host", host}, {"error", answers[i].error}, {"files", nlohmann::json::array()}});
      continue;
    }
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : db::parse_backups(answers[i].records)) {
      files.push_back(to_json(f));
      rows.push_back({host, f.path, db::human_size(f.bytes), f.modified});
    }
    if (files.empty()) ui.warn(fmt::format("{}: no backups of {} yet", host, database.key));
    json.push_back({{"host", host}, {"error", nullptr}, {"files", files}});
  }
  const int status = report_errors(hosts, ui, answers);
  if (ui.json()) {
    ui.emit_json({{"database", database.key}, {"hosts", json}});
    return status;
  }
  std::array<std::size_t, 4> width = {4, 4, 4, 8};
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  }
  if (!rows.empty()) {
    ui.out(ui.bold(fmt::format("{:<{}}  {:<{}}  {:>{}}  {}", "HOST", width[0], "FILE", width[1],
                               "SIZE", width[2], "MODIFIED")));
  }
  for (const auto& row : rows) {
    ui.out(fmt::format("{:<{}}  {:<{}}  {:>{}}  {}", row[0], width[0], row[1], width[1], row[2],
                       width[2], row[3]));
  }
  return status;
}

int run_restore_snapshot(const GlobalOptions& global, Ui& ui, const DbFlags& flags);

// berth db restore NAME FILE: load a dump on the (one) db server.
int run_restore(const GlobalOptions& global, Ui& ui, const DbFlags& flags) {
  const auto m = manifest::load_or_throw(global.file, global.env);
  const auto& database = find_database(m, flags.name);
  const auto script = script_of(m, database);
  if (!flags.snapshot.empty() || offsite(m)) {
    need_offsite(m, database, true, "db restore --snapshot");
    if (!flags.file.empty() || flags.snapshot.empty()) {
      throw Error(fmt::format("db restore {}: give --snapshot ID (or latest), not a file", database.key),
                  ExitCode::usage, fmt::format("berth db backups {} lists the snapshots", database.key));
    }
    return run_restore_snapshot(global, ui, flags);
  }
  if (flags.file.empty()) {
    throw Error(fmt::format("db restore {}: which dump? give its FILE", database.key), ExitCode::usage,
                fmt::format("berth db list {} lists them", database.key));
  }
  auto hosts = open_db_hosts(global, m, ui);
  if (hosts.servers.size() != 1) {
    throw Error(
        fmt::format("{} db servers are selected; a restore goes to one", hosts.servers.size()),
        ExitCode::usage, "choose it with --hosts NAME");
  }
  const auto& host = hosts.servers.front()->name;

  // Check the file first: nothing is asked, and nothing changes, when it does not exist.
  auto answers = run_everywhere(hosts, ui, db::command(script, db::Verb::show, flags.file),
                                "finding the backup");
  if (!answers.front().ok) {
    const int status = report_errors(hosts, ui, answers);
    if (ui.json()) {
      ui.emit_json({{"database", database.key},
                    {"host", host},
                    {"file", nullptr},
                    {"ok", false},
                    {"error", answers.front().error}});
    }
    return status;
  }
  const auto files = db::parse_backups(answers.front().records);
  if (files.size() != 1)
    throw Error(fmt::format("{}: the backup script did not find {}", host, flags.file));
  const auto& file = files.front();

  const auto question =
      fmt::format("Restore {} ({}, {}) into {} database {} on {}? Its current data is replaced.",
                  file.path, db::human_size(file.bytes), file.modified,
                  provisioners::database::engine_name(database.engine), database.name, host);
  if (!flags.yes && !confirmed(question)) {
    throw Error(
        fmt::format("not restoring {} into {} on {}: not confirmed", file.path, database.key, host),
        ExitCode::usage, "pass --yes to restore without a question");
  }
  ui.progress(fmt::format("{}: restoring {} into {}", host, file.path, database.name));
  answers =
      run_everywhere(hosts, ui, db::command(script, db::Verb::restore, file.path), "the restore");
  if (answers.front().ok && !db::restored(answers.front().records)) {
    answers.front().ok = false;
    answers.front().error = fmt::format("{}: the restore script did not report success", host);
  }
  const int status = report_errors(hosts, ui, answers);
  if (status == 0) ui.out(fmt::format("{}: restored {} into {}", host, file.path, database.name));
  if (ui.json()) {
    ui.emit_json(
        {{"database", database.key},
         {"host", host},
         {"file", to_json(file)},
         {"ok", status == 0},
         {"error", status == 0 ? nlohmann::json() : nlohmann::json(answers.front().error)}});
  }
  return status;
}

// berth db backups NAME: the database's snapshots in the off-host repository, oldest
// first, with what the db servers recorded of them (size, verification).
int run_snapshots(const GlobalOptions& global, Ui& ui, const DbFlags& flags) {
  const auto m = manifest::load_or_throw(global.file, global.env);
  const auto& database = find_database(m, flags.name);
  const auto script = script_of(m, database);
  need_offsite(m, database, true, "db backups");
  auto hosts = open_db_hosts(global, m, ui);
  const auto answers =
      run_everywhere(hosts, ui, db::command(script, db::Verb::snapshots), "listing the snapshots");
  // Every db server lists the one repository; each adds what it recorded.
  std::vector<db::Snapshot> snapshots;
  for (const auto& answer : answers) {
    if (!answer.ok) continue;
    for (auto& s : db::parse_snapshots(answer.records)) {
      auto same = std::find_if(snapshots.begin(), snapshots.end(), [&](const auto& o) { return o.id == s.id; });
      if (same == snapshots.end()) {
        snapshots.push_back(std::move(s));
        continue;
      }
      if (!same->bytes) same->bytes = s.bytes;
      if (!s.verified.empty() && s.verified_at > same->verified_at) {
        same->verified = s.verified;
        same->verified_at = s.verified_at;
        same->detail = s.detail;
      }
    }
  }
  const int status = report_errors(hosts, ui, answers);
  if (ui.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : snapshots) list.push_back(to_json(s));
    ui.emit_json({{"database", database.key}, {"repository", layout::offsite_target(m)}, {"snapshots", list}});
    return status;
  }
  if (snapshots.empty() && status == 0) ui.warn(fmt::format("no snapshot of {} in the repository yet", database.key));
  std::vector<std::array<std::string, 5>> rows;
  for (const auto& s : snapshots) {
    const auto verified = s.verified.empty() ? std::string("-")
                          : s.verified == "ok"
                              ? fmt::format("ok {} ({})", s.verified_at, s.detail)
                              : fmt::format("FAILED {}: {}", s.verified_at, s.detail);
    rows.push_back({s.id, s.time, s.host, size_of(s), verified});
  }
  if (!rows.empty()) rows.insert(rows.begin(), {"ID", "TIME", "HOST", "SIZE", "VERIFIED"});
  std::array<std::size_t, 5> width{};
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    const auto line = fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}  {}", row[0], width[0], row[1], width[1], row[2],
                                  width[2], row[3], width[3], row[4]);
    ui.out(r == 0 ? ui.bold(line) : line);
  }
  return status;
}

// berth db verify NAME: restore the newest snapshot into a scratch database now and run
// the verify query, on one db server.
int run_verify(const GlobalOptions& global, Ui& ui, const DbFlags& flags) {
  const auto m = manifest::load_or_throw(global.file, global.env);
  const auto& database = find_database(m, flags.name);
  const auto script = script_of(m, database);
  need_offsite(m, database, true, "db verify");
  if (!database.backups.verify) {
    throw Error(fmt::format("[databases.{}] has no backups.verify", database.key), ExitCode::usage,
                "add backups.verify = { query = \"SELECT count(*) FROM ...\", min = 1 } and run berth setup");
  }
  auto hosts = open_one_db_host(global, m, ui);
  const auto& host = hosts.servers.front()->name;
  ui.progress(fmt::format("{}: verifying the newest snapshot of {}", host, database.key));
  auto answers = run_everywhere(hosts, ui, db::command(script, db::Verb::verify), "the verification");
  const auto verification = db::parse_verification(answers.front().records);
  if (verification && !verification->ok) {
    answers.front().error = fmt::format("{}: snapshot {} of {} failed verification: {}", host,
                                        verification->snapshot, database.key, verification->detail);
    answers.front().hint = fmt::format("journalctl -u {} on {} has the restore's output; berth db backups {} "
                                       "lists the snapshots",
                                       layout::verify_unit(m, database), host, database.key);
  } else if (answers.front().ok && !verification) {
    answers.front().ok = false;
    answers.front().error = fmt::format("{}: the verification reported no result", host);
  }
  const int status = report_errors(hosts, ui, answers);
  if (status == 0) {
    ui.out(fmt::format("{}: snapshot {} of {} restores, and the query gave {}", host, verification->snapshot,
                       database.key, verification->detail));
  }
  if (ui.json()) {
    ui.emit_json({{"database", database.key},
                  {"host", host},
                  {"ok", status == 0},
                  {"snapshot", verification ? nlohmann::json(verification->snapshot) : nlohmann::json()},
                  {"detail", verification ? nlohmann::json(verification->detail) : nlohmann::json()},
                  {"error", status == 0 ? nlohmann::json() : nlohmann::json(answers.front().error)}});
  }
  return status;
}

// berth db restore NAME --snapshot ID: load a snapshot from the off-host repository into
// the database on one db server (a server set up afresh too).
int run_restore_snapshot(const GlobalOptions& global, Ui& ui, const DbFlags& flags) {
  const auto m = manifest::load_or_throw(global.file, global.env);
  const auto& database = find_database(m, flags.name);
  const auto script = script_of(m, database);
  auto hosts = open_one_db_host(global, m, ui);
  const auto& host = hosts.servers.front()->name;

  // Find the snapshot first: nothing is asked, and nothing changes, when there is none.
  auto answers = run_everywhere(hosts, ui, db::command(script, db::Verb::show, flags.snapshot), "finding the snapshot");
  const auto found = db::parse_snapshots(answers.front().records);
  if (answers.front().ok && found.size() != 1) {
    answers.front().ok = false;
    answers.front().error = fmt::format("{}: the backup script did not find snapshot {}", host, flags.snapshot);
  }
  if (!answers.front().ok) {
    const int status = report_errors(hosts, ui, answers);
    if (ui.json()) {
      ui.emit_json({{"database", database.key}, {"host", host}, {"snapshot", nullptr}, {"ok", false},
                    {"error", answers.front().error}});
    }
    return status;
  }
  const auto& snap = found.front();
  const auto question = fmt::format(
      "Restore snapshot {} ({}, taken on {}) into {} database {} on {}? Its current data is replaced.", snap.id,
      snap.time, snap.host, provisioners::database::engine_name(database.engine), database.name, host);
  if (!flags.yes && !confirmed(question)) {
    throw Error(fmt::format("not restoring snapshot {} into {} on {}: not confirmed", snap.id, database.key, host),
                ExitCode::usage, "pass --yes to restore without a question");
  }
  ui.progress(fmt::format("{}: restoring snapshot {} into {}", host, snap.id, database.name));
  answers = run_everywhere(hosts, ui, db::command(script, db::Verb::restore, snap.id), "the restore");
  if (answers.front().ok && !db::restored(answers.front().records)) {
    answers.front().ok = false;
    answers.front().error = fmt::format("{}: the restore script did not report success", host);
  }
  const int status = report_errors(hosts, ui, answers);
  if (status == 0) ui.out(fmt::format("{}: restored snapshot {} ({}) into {}", host, snap.id, snap.time, database.name));
  if (ui.json()) {
    ui.emit_json({{"database", database.key},
                  {"host", host},
                  {"snapshot", to_json(snap)},
                  {"ok", status == 0},
                  {"error", status == 0 ? nlohmann::json() : nlohmann::json(answers.front().error)}});
  }
  return status;
}

// berth db backup-key: the off-host repository's password, for the operator to keep
// elsewhere. Printed on stdout as it is: the one output berth does not redact.
int run_backup_key(const GlobalOptions& global, Ui& ui) {
  const auto m = manifest::load_or_throw(global.file, global.env);
  if (!offsite(m)) {
    throw Error("there is no off-host repository: the manifest has no [backups]", ExitCode::usage);
  }
  auto hosts = open_one_db_host(global, m, ui);
  const auto& host = hosts.servers.front()->name;
  const auto path = layout::secret_path(m, layout::offsite_password_secret);
  auto answers = run_everywhere(
      hosts, ui,
      fmt::format("if [ ! -s {0} ]; then echo \"{1} is missing: run berth setup\" >&2; exit 1; fi\n"
                  "rec db output \"$(cat {0})\"\n",
                  util::shell_quote(path), path),
      "reading the repository's password");
  const int status = report_errors(hosts, ui, answers);
  if (status != 0) return status;
  std::string key;
  for (const auto& r : answers.front().records) {
    if (r.subject == "db" && r.field == "output") key = util::trim(r.value);
  }
  if (key.empty()) throw Error(fmt::format("{}: {} is empty", host, path));
  if (ui.json()) {
    std::cout << nlohmann::json{{"host", host}, {"repository", layout::offsite_target(m)}, {"key", key}}.dump() << "\n";
  } else {
    std::cout << key << "\n";
  }
  return 0;
}

}  // namespace

void add_db(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "db", "Back up, list, verify or restore a database's backups; switch PostgreSQL's primary over");
  sub->require_subcommand(1);
  sub->footer(
      "NAME is a [databases.NAME] key. backup, list, backups, verify and restore run the database's backup\n"
      "script on the db servers (/usr/local/lib/berth/APP/db-NAME, installed by `berth setup` when backups\n"
      "are enabled; the timer APP-db-NAME-backup.timer runs the same script on backups.schedule).\n"
      "Without [backups], dumps stay on the server in /var/backups/berth/APP/NAME/ (root only), kept for\n"
      "backups.keep_days days: `list` shows them, `restore NAME FILE` loads one. With [backups], each dump\n"
      "streams into the off-host restic repository (a backup server, an S3 bucket or an SFTP server):\n"
      "`backups` lists the snapshots, `verify` restores the newest into a scratch database and runs\n"
      "backups.verify's query, `restore NAME --snapshot ID` loads one (also on a server set up afresh),\n"
      "and `backup-key` prints the repository's password: keep it elsewhere, without it the copies are\n"
      "unreadable.\n"
      "Exit status: 0, 1 when a host failed (a failed verification too), 5 when a host could not be\n"
      "reached, 64 for a usage error (unknown database, backups disabled, restore not confirmed).\n"
      "promote and rejoin switch a PostgreSQL primary and its replicas over (`berth db promote --help`,\n"
      "docs/databases.md).\n");
  auto flags = std::make_shared<DbFlags>();

  auto* backup = sub->add_subcommand(
      "backup", "Back up a database now on each db server; print each dump's path (or snapshot) and size");
  backup->add_option("name", flags->name, "The database ([databases.NAME])")->required();
  on_run(backup, cli, [&cli, flags](Ui& ui) { return run_backup(cli.global, ui, *flags); });

  auto* list =
      sub->add_subcommand("list", "List a database's local dumps on each db server, oldest first (no [backups])");
  list->add_option("name", flags->name, "The database ([databases.NAME])")->required();
  on_run(list, cli, [&cli, flags](Ui& ui) { return run_list(cli.global, ui, *flags); });

  auto* backups = sub->add_subcommand(
      "backups", "List a database's snapshots in the off-host repository: time, host, size, verified or not");
  backups->add_option("name", flags->name, "The database ([databases.NAME])")->required();
  on_run(backups, cli, [&cli, flags](Ui& ui) { return run_snapshots(cli.global, ui, *flags); });

  auto* verify = sub->add_subcommand(
      "verify", "Restore the newest off-host snapshot into a scratch database now and run the verify query");
  verify->add_option("name", flags->name, "The database ([databases.NAME])")->required();
  verify->footer("Runs on the primary db server (another with --hosts), as APP-db-NAME-verify.timer does on\n"
                 "backups.verify.schedule. The scratch database is dropped afterwards; the result is recorded\n"
                 "there for `berth health` and `berth db backups`. Exit 1 when the copy does not restore or the\n"
                 "query gives less than backups.verify.min.\n");
  on_run(verify, cli, [&cli, flags](Ui& ui) { return run_verify(cli.global, ui, *flags); });

  auto* key = sub->add_subcommand("backup-key", "Print the off-host repository's password, to keep elsewhere");
  key->footer("Read from the primary db server (another with --hosts). Without this password the copies in\n"
              "the repository cannot be read: store it where a lost server does not take it along.\n");
  on_run(key, cli, [&cli](Ui& ui) { return run_backup_key(cli.global, ui); });

  auto* restore = sub->add_subcommand(
      "restore", "Restore a database from one of its backups on the db server, replacing its data");
  restore->add_option("name", flags->name, "The database ([databases.NAME])")->required();
  restore->add_option("file", flags->file,
                      "Without [backups]: a dump on the server, its path as `db backup` or `db list` print it, or "
                      "its file name");
  restore->add_option("--snapshot", flags->snapshot,
                      "With [backups]: the snapshot to restore, its id as `db backups` prints it, or latest");
  restore->add_flag("-y,--yes", flags->yes,
                    "Restore without asking (needed when not at a terminal)");
  restore->footer(
      "PostgreSQL: pg_restore --clean --if-exists in one transaction. MySQL: the dump drops and\n"
      "re-creates each table it holds. Redis: the RDB file replaces the data (redis-server is\n"
      "restarted). MongoDB: mongorestore --drop. Nothing happens when FILE or the snapshot does not exist.\n"
      "With several db servers, choose one with --hosts (a snapshot goes to the primary by default).\n");
  on_run(restore, cli, [&cli, flags](Ui& ui) { return run_restore(cli.global, ui, *flags); });

  add_db_replicas(sub, cli);
}

}  // namespace berth::cli
