// berth db backup|list|restore NAME: run the backup script that berth setup installed
// for [databases.NAME] on the db servers (the same script its timer runs), and print
// what it reports.
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
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>

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
  bool yes = false;
};

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
    const auto files = db::parse_backups(answers[i].records);
    if (answers[i].ok && files.size() != 1) {
      answers[i].ok = false;
      answers[i].error = fmt::format("{}: the backup script reported no file", host);
    }
    if (!answers[i].ok) {
      json.push_back({{"host", host}, {"ok", false}, {"error", answers[i].error}});
      continue;
    }
    const auto& f = files.front();
    json.push_back({{"host", host}, {"ok", true}, {"file", to_json(f)}});
    ui.out(fmt::format("{}: {} ({})", host, f.path, db::human_size(f.bytes)));
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

// Whether the person at the terminal agrees; false when stdin or stderr is not a terminal.
bool confirmed(const std::string& question) {
  if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) return false;
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

// berth db restore NAME FILE: load a dump on the (one) db server.
int run_restore(const GlobalOptions& global, Ui& ui, const DbFlags& flags) {
  const auto m = manifest::load_or_throw(global.file, global.env);
  const auto& database = find_database(m, flags.name);
  const auto script = script_of(m, database);
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

}  // namespace

void add_db(CLI::App& app, Cli& cli) {
  auto* sub = app.add_subcommand(
      "db", "Back up a database now, list its backups, or restore one; switch PostgreSQL's primary over");
  sub->require_subcommand(1);
  sub->footer(
      "NAME is a [databases.NAME] key. backup, list and restore run the database's backup script on the db servers\n"
      "(/usr/local/lib/berth/APP/db-NAME, installed by `berth setup` when backups are enabled; "
      "the\n"
      "timer APP-db-NAME-backup.timer runs the same script on backups.schedule). Dumps live on "
      "the\n"
      "server in /var/backups/berth/APP/NAME/ (root only), kept for backups.keep_days days.\n"
      "Exit status: 0, 1 when a host failed, 5 when a host could not be reached, 64 for a usage\n"
      "error (unknown database, backups disabled, restore not confirmed). promote and rejoin switch a\n"
      "PostgreSQL primary and its replicas over (`berth db promote --help`, docs/databases.md).\n");
  auto flags = std::make_shared<DbFlags>();

  auto* backup = sub->add_subcommand(
      "backup", "Back up a database now on each db server; print each dump's path and size");
  backup->add_option("name", flags->name, "The database ([databases.NAME])")->required();
  on_run(backup, cli, [&cli, flags](Ui& ui) { return run_backup(cli.global, ui, *flags); });

  auto* list =
      sub->add_subcommand("list", "List a database's backups on each db server, oldest first");
  list->add_option("name", flags->name, "The database ([databases.NAME])")->required();
  on_run(list, cli, [&cli, flags](Ui& ui) { return run_list(cli.global, ui, *flags); });

  auto* restore = sub->add_subcommand(
      "restore", "Restore a database from one of its backups on the db server, replacing its data");
  restore->add_option("name", flags->name, "The database ([databases.NAME])")->required();
  restore
      ->add_option(
          "file", flags->file,
          "A backup on the server: its path as `db backup` or `db list` print it, or its file name")
      ->required();
  restore->add_flag("-y,--yes", flags->yes,
                    "Restore without asking (needed when not at a terminal)");
  restore->footer(
      "PostgreSQL: pg_restore --clean --if-exists in one transaction. MySQL: the dump drops and\n"
      "re-creates each table it holds. Redis: the RDB file replaces the data (redis-server is\n"
      "restarted). MongoDB: mongorestore --drop. Nothing happens when FILE does not exist.\n"
      "With several db servers, choose one with --hosts.\n");
  on_run(restore, cli, [&cli, flags](Ui& ui) { return run_restore(cli.global, ui, *flags); });

  add_db_replicas(sub, cli);
}

}  // namespace berth::cli
