#include <core/health/server.hpp>
#include <core/util/embedded.hpp>
#include <core/util/text.hpp>
#include <core/layout/layout.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace berth::health {

using util::shell_quote;

namespace {

// The built-in thresholds (docs/health.md, "Built-in checks").
constexpr std::string_view unit_active = "[ACTIVE_STATE] == active";
constexpr std::string_view unit_not_looping = "[RESTARTS] < 3";
constexpr std::string_view timer_result = "[RESULT] == success";
constexpr std::string_view ports_listening = "[MISSING_PORTS] == \"\"";
constexpr std::string_view disk_threshold = "[DISK_USED] < 90";
constexpr std::string_view memory_threshold = "[MEMORY_AVAILABLE] > 10";
constexpr std::string_view load_threshold = "[LOAD_PER_CORE] < 8";
constexpr std::string_view database_up = "[CONNECTED] == true";
constexpr std::string_view certificate_threshold = "[CERTIFICATE_EXPIRATION] > 240h";
constexpr std::string_view replicas_streaming = "[MISSING_REPLICAS] == \"\"";
constexpr std::string_view lag_bytes_threshold = "[REPLICA_LAG_BYTES] < 16777216";
constexpr std::string_view lag_seconds_threshold = "[REPLICA_LAG_SECONDS] < 30";
constexpr std::string_view slot_threshold = "[SLOT_RETAINED_BYTES] < 1073741824";
constexpr std::string_view verify_ok = "[VERIFY_RESULT] == ok";

// The hours a backup or verification on `schedule` may be old before health fails: one
// period and two hours for the usual shorthands, a day and two hours otherwise.
int hours_allowed(std::string_view schedule) {
  if (schedule == "hourly") return 3;
  if (schedule == "weekly") return 170;
  if (schedule == "monthly") return 746;
  return 26;
}

constexpr std::size_t journal_lines = 10;

std::vector<Condition> conditions_of(std::initializer_list<std::string_view> texts) {
  std::vector<Condition> out;
  // The texts are ours: a parse failure is a bug caught by the unit tests.
  for (auto t : texts)
    out.push_back(*parse_condition(t, server_placeholders()));
  return out;
}

// The manifest's [server_checks] conditions when it has some (checked when it was
// loaded; one that does not parse is left out), else the built-in one.
std::vector<Condition> thresholds(const std::vector<manifest::ConditionText>& own, std::string_view fallback) {
  if (own.empty()) return conditions_of({fallback});
  std::vector<Condition> out;
  for (const auto& c : own) {
    if (auto parsed = parse_condition(c.text, server_placeholders())) out.push_back(*parsed);
  }
  return out;
}

// Helpers every server script starts with. `v` is the transport's `rec` (one framed
// record, core/remote.hpp), as in the converge probe.
const std::string_view prelude = util::embedded("core/sh/health.sh");

std::string database_script(const ServerCheck& c) {
  const auto s = shell_quote(c.name);
  const auto secret = shell_quote(c.secret_file);
  switch (c.engine) {
  case manifest::Engine::postgresql:
    // psql with the app's credentials proves more than pg_isready (the role, its
    // password, the database); pg_isready when the password file is not there. The
    // password goes through the environment of a subshell, never argv.
    return fmt::format(
        "(if command -v psql >/dev/null 2>&1 && [ -r {1} ]; then\n"
        "  export PGPASSWORD=\"$(cat {1})\" PGCONNECT_TIMEOUT=5\n"
        "  client {0} {2} timeout 10 psql -h 127.0.0.1 -U {3} -d {4} -qtAX -c 'SELECT 1'\n"
        "else client {0} pg_isready timeout 10 pg_isready -h 127.0.0.1 -t 5; fi\n"
        "[ \"$st\" = 0 ] || journal {0} 'postgresql*')\n",
        s, secret, shell_quote("psql as " + c.db_user), shell_quote(c.db_user),
        shell_quote(c.db_name));
  case manifest::Engine::redis:
    return fmt::format("([ ! -r {1} ] || export REDISCLI_AUTH=\"$(cat {1})\"\n"
                       "client {0} 'redis-cli ping' timeout 10 redis-cli -h 127.0.0.1 ping\n"
                       "[ \"$st\" = 0 ] || journal {0} redis-server.service)\n",
                       s, secret);
  case manifest::Engine::mysql:
    return fmt::format(
        "client {0} 'mysqladmin ping' timeout 10 mysqladmin --connect-timeout=5 ping\n"
        "[ \"$st\" = 0 ] || journal {0} mariadb.service\n",
        s);
  case manifest::Engine::mongodb:
    return fmt::format("if command -v mongosh >/dev/null 2>&1; then\n"
                       "  client {0} 'mongosh ping' timeout 10 mongosh --quiet --eval "
                       "'db.runCommand({{ping: 1}}).ok'\n"
                       "  [ \"$st\" = 0 ] || journal {0} mongod.service\n"
                       "else v {0} client none; fi\n",
                       s);
  }
  return {};
}

// What a database's client prints when it is connected ("" : its exit status says it).
std::string_view expected_output(manifest::Engine engine) {
  switch (engine) {
  case manifest::Engine::postgresql:
    return "";
  case manifest::Engine::redis:
    return "PONG";
  case manifest::Engine::mysql:
    return "is alive";
  case manifest::Engine::mongodb:
    return "1";
  }
  return "";
}

std::string engine_unit(manifest::Engine engine) {
  switch (engine) {
  case manifest::Engine::postgresql:
    return "postgresql";
  case manifest::Engine::redis:
    return "redis-server";
  case manifest::Engine::mysql:
    return "mariadb";
  case manifest::Engine::mongodb:
    return "mongod";
  }
  return {};
}

int engine_port(manifest::Engine engine) {
  switch (engine) {
  case manifest::Engine::postgresql:
    return 5432;
  case manifest::Engine::redis:
    return 6379;
  case manifest::Engine::mysql:
    return 3306;
  case manifest::Engine::mongodb:
    return 27017;
  }
  return 0;
}

std::optional<double> number_of(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "Key=Value" lines of `systemctl show`.
std::map<std::string, std::string, std::less<>> properties(std::string_view text) {
  std::map<std::string, std::string, std::less<>> out;
  for (auto line : util::lines(text)) {
    const auto eq = line.find('=');
    if (eq != std::string_view::npos) out.emplace(line.substr(0, eq), line.substr(eq + 1));
  }
  return out;
}

std::string property(const std::map<std::string, std::string, std::less<>>& p,
                     std::string_view key) {
  const auto it = p.find(key);
  return it == p.end() ? std::string() : it->second;
}

std::vector<std::string> journal_of(const ServerFacts& facts, const std::string& subject) {
  std::vector<std::string> out;
  if (!facts.has(subject, "journal")) return out;
  for (auto line : util::lines(facts.get(subject, "journal")))
    out.emplace_back(line);
  if (out.size() > journal_lines)
    out.erase(out.begin(), out.end() - static_cast<long>(journal_lines));
  return out;
}

// The listening ports in `ss -ltnH` output (its 4th column is ADDRESS:PORT).
std::set<int> listening_ports(std::string_view ss) {
  std::set<int> out;
  for (auto line : util::lines(ss)) {
    const auto f = util::fields(line);
    if (f.size() < 4) continue;
    const auto local = f[3];
    const auto colon = local.rfind(':');
    if (colon == std::string_view::npos) continue;
    if (auto port = number_of(local.substr(colon + 1))) out.insert(static_cast<int>(*port));
  }
  return out;
}

// "Wed 2026-11-25 08:00:04 UTC" -> "2026-11-25T08:00:04Z"; "n/a" or empty -> "".
std::string iso_timestamp(std::string_view text) {
  const auto f = util::fields(text);
  if (f.size() >= 3 && f[1].size() == 10 && f[2].size() == 8)
    return fmt::format("{}T{}Z", f[1], f[2]);
  return {};
}

Observation unit_observation(const std::map<std::string, std::string, std::less<>>& p) {
  Observation o;
  if (p.contains("ActiveState")) o.values["ACTIVE_STATE"] = property(p, "ActiveState");
  if (p.contains("SubState")) o.values["SUB_STATE"] = property(p, "SubState");
  if (auto n = number_of(property(p, "NRestarts"))) o.values["RESTARTS"] = *n;
  if (p.contains("Result")) o.values["RESULT"] = property(p, "Result");
  if (auto n = number_of(property(p, "ExecMainStatus"))) o.values["EXIT_STATUS"] = *n;
  return o;
}

std::string not_loaded(const std::map<std::string, std::string, std::less<>>& p,
                       const std::string& unit) {
  const auto load = property(p, "LoadState");
  if (load.empty() || load == "loaded") return {};
  return fmt::format("{} is {} on the server (LoadState={})", unit,
                     load == "not-found" ? "not installed" : "not loaded", load);
}

std::string basename_of(std::string_view path) {
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// What a check's facts said: the observation its conditions are judged on, what it
// looked at, why it could not look, and journal lines to show when it fails.
struct Judged {
  Observation o;
  std::string target;
  std::string error;
  std::vector<std::string> details;
};

std::string script_unit(const ServerCheck& c, const ServerPlan&) {
  return fmt::format("unit {} {} {}\n", shell_quote(c.name), shell_quote(c.subject), shell_quote(c.journal));
}

std::string script_app(const ServerCheck& c, const ServerPlan& plan) {
  const auto i = static_cast<std::size_t>(c.instance - 1);
  if (i >= plan.blue_ports.size() || i >= plan.green_ports.size()) return {};
  const auto blue = fmt::format("{}@{}.service", c.subject, plan.blue_ports[i]);
  const auto green = fmt::format("{}@{}.service", c.subject, plan.green_ports[i]);
  return fmt::format("if [ \"$live\" = green ]; then unit {0} {2} {2}; else unit {0} {1} {1}; fi\n",
                     shell_quote(c.name), shell_quote(blue), shell_quote(green));
}

// What an instance answers to GET subject, from the server: the body, then a line
// "@@STATUS SECONDS" (STATUS 000 when it never answered).
std::string script_direct(const ServerCheck& c, const ServerPlan& plan) {
  const auto i = static_cast<std::size_t>(c.instance - 1);
  if (i >= plan.blue_ports.size() || i >= plan.green_ports.size()) return {};
  return fmt::format("if [ \"$live\" = green ]; then p={2}; else p={1}; fi\nv {0} port \"$p\"\n"
                     "v {0} answer \"$(curl -s --max-time 5 -w '\n@@%{{http_code}} %{{time_total}}' "
                     "\"http://127.0.0.1:$p\"{3} 2>/dev/null)\"\n",
                     shell_quote(c.name), plan.blue_ports[i], plan.green_ports[i], shell_quote(c.subject));
}

std::string script_timer(const ServerCheck& c, const ServerPlan&) {
  return fmt::format("timer {} {}\n", shell_quote(c.name), shell_quote(c.subject));
}

std::string script_database(const ServerCheck& c, const ServerPlan&) { return database_script(c); }

// PostgreSQL's own view of replication, as postgres: on the primary (not in recovery)
// each replica's state and lag and each slot's retained WAL; on a replica its WAL
// receiver and how far behind it replays.
std::string script_replication(const ServerCheck& c, const ServerPlan&) {
  return fmt::format(
      "(sql() {{ runuser -u postgres -- psql -X -qtA -c \"$1\" 2>&1; }}\n"
      "cd /\n"
      "if r=$(sql 'SELECT pg_is_in_recovery()'); then\n"
      "  v {0} recovery \"$r\"\n"
      "  if [ \"$r\" = t ]; then\n"
      "    v {0} receiver \"$(sql 'SELECT status || '\"' '\"' || coalesce(sender_host, '\"''\"') FROM "
      "pg_stat_wal_receiver')\"\n"
      // Seconds only while bytes are behind: an idle primary sends no commit to date.
      "    v {0} lag \"$(sql 'SELECT b || '\"' '\"' || CASE WHEN b = 0 THEN 0 ELSE round(greatest(extract(epoch "
      "FROM now() - pg_last_xact_replay_timestamp()), 0)::numeric, 1) END FROM (SELECT "
      "greatest(coalesce(pg_wal_lsn_diff((SELECT latest_end_lsn FROM pg_stat_wal_receiver), "
      "pg_last_wal_replay_lsn()), 0), 0)::bigint AS b) AS lag')\"\n"
      "  else\n"
      "    v {0} replicas \"$(sql 'SELECT application_name || '\"' '\"' || state || '\"' '\"' || "
      "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint || '\"' '\"' || "
      "round(coalesce(extract(epoch FROM replay_lag), 0)::numeric, 1) FROM pg_stat_replication')\"\n"
      "  fi\n"
      // A slot holds WAL on a replica too (one left from its time as the primary).
      "  v {0} slots \"$(sql 'SELECT slot_name || '\"' '\"' || active || '\"' '\"' || "
      "coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE "
      "pg_current_wal_lsn() END, restart_lsn), 0)::bigint FROM pg_replication_slots')\"\n"
      "else v {0} error \"$r\"; journal {0} 'postgresql*'; fi)\n",
      shell_quote(c.name));
}

// The backup script's record of the last off-host copy or verification, and the time now.
// The unit's journal comes along when there is no record or it says failed.
std::string script_offsite(const ServerCheck& c, const ServerPlan&) {
  return fmt::format("r=$(cat {1} 2>/dev/null)\nv {0} record \"$r\"\nv {0} now \"$(date -u +%s)\"\n"
                     "case $r in '' | *' failed '*) journal {0} {2} ;; esac\n",
                     shell_quote(c.name), shell_quote(c.record), shell_quote(c.journal));
}

std::string script_ports(const ServerCheck&, const ServerPlan&) { return "v ports ss \"$(ss -ltnH 2>&1)\"\n"; }

std::string script_disk(const ServerCheck& c, const ServerPlan&) {
  return fmt::format("[ ! -d {1} ] || v {0} df \"$(df -P {1} 2>&1 | tail -n 1)\"\n", shell_quote(c.name),
                     shell_quote(c.subject));
}

std::string script_memory(const ServerCheck&, const ServerPlan&) {
  return "v memory meminfo \"$(grep -E '^(MemTotal|MemAvailable):' /proc/meminfo)\"\n";
}

std::string script_load(const ServerCheck&, const ServerPlan&) {
  return "v load loadavg \"$(cat /proc/loadavg)\"\n"
         "v load cores \"$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)\"\n";
}

// A unit, an app instance (the live color's) or a timer and its service's last run.
Judged judge_unit(const ServerCheck& c, const ServerPlan&, const ServerFacts& facts) {
  Judged j;
  j.target = facts.has(c.name, "unit") ? facts.get(c.name, "unit") : c.subject;
  const auto p = properties(facts.get(c.name, "show"));
  j.o = unit_observation(p);
  if (c.kind == ServerCheckKind::timer) {
    const auto t = properties(facts.get(c.name, "timer"));
    if (t.contains("ActiveState")) j.o.values["ACTIVE_STATE"] = property(t, "ActiveState");
    if (t.contains("SubState")) j.o.values["SUB_STATE"] = property(t, "SubState");
    const auto last = iso_timestamp(property(t, "LastTriggerUSec"));
    j.o.values["LAST_TRIGGER"] = last.empty() ? std::string("never") : last;
    j.error = not_loaded(t, j.target);
    j.target += last.empty() ? " (never triggered)" : " (last triggered " + last + ")";
  } else {
    j.error = not_loaded(p, j.target);
    const auto& live = facts.get("app", "live");
    if (c.kind == ServerCheckKind::app && !live.empty()) j.target += " (" + live + ")";
  }
  j.details = journal_of(facts, c.name);
  return j;
}

Judged judge_direct(const ServerCheck& c, const ServerPlan&, const ServerFacts& facts) {
  Judged j;
  const auto& port = facts.get(c.name, "port");
  j.target = fmt::format("http://127.0.0.1:{}{} ({})", port, c.subject, facts.get("app", "live"));
  const auto& answer = facts.get(c.name, "answer");
  const auto mark = answer.rfind("@@");
  if (!facts.has(c.name, "answer") || mark == std::string::npos) {
    j.error = "the instance was not asked (no curl on the server?)";
    return j;
  }
  const auto f = util::fields(std::string_view(answer).substr(mark + 2));
  const int status = f.empty() ? 0 : static_cast<int>(number_of(f[0]).value_or(0));
  j.o.connected = status > 0;
  if (j.o.connected) {
    j.o.status = status;
    j.o.body = answer.substr(0, mark > 0 && answer[mark - 1] == '\n' ? mark - 1 : mark);
    if (f.size() > 1) {
      if (const auto seconds = number_of(f[1])) {
        j.o.response_time = std::chrono::milliseconds(static_cast<long long>(*seconds * 1000));
      }
    }
  }
  return j;
}

Judged judge_database(const ServerCheck& c, const ServerPlan&, const ServerFacts& facts) {
  Judged j;
  j.target = c.subject;
  const auto client = facts.get(c.name, "client");
  if (client == "none") {
    // No client to ask: the port listening is all that can be said.
    const auto port = engine_port(c.engine);
    j.o.connected = listening_ports(facts.get("ports", "ss")).contains(port);
    j.target = fmt::format("{} (port {} listening; mongosh is not installed)", c.subject, port);
  } else if (facts.has(c.name, "exit")) {
    const auto output = facts.get(c.name, "output");
    const auto expect = expected_output(c.engine);
    j.o.connected = facts.get(c.name, "exit") == "0" && (expect.empty() || output.find(expect) != std::string::npos);
    j.target = fmt::format("{} ({})", c.subject, client);
    if (!*j.o.connected) {
      j.error = util::tail_lines(output, 2);
      std::replace(j.error.begin(), j.error.end(), '\n', ' ');
      if (j.error.empty()) j.error = fmt::format("{} exited with status {}", client, facts.get(c.name, "exit"));
    }
  }
  j.details = journal_of(facts, c.name);
  return j;
}

std::string bytes_text(double bytes) {
  return bytes < 1024 * 1024 ? fmt::format("{} B", static_cast<long long>(bytes))
                             : fmt::format("{:.1f} MiB", bytes / (1024 * 1024));
}

Judged judge_replication(const ServerCheck& c, const ServerPlan& plan, const ServerFacts& facts) {
  Judged j;
  j.details = journal_of(facts, c.name);
  if (!facts.has(c.name, "recovery")) {
    j.error = "PostgreSQL does not answer: " + util::trim(facts.get(c.name, "error"));
    j.target = "PostgreSQL replication";
    return j;
  }
  double lag_bytes = 0, lag_seconds = 0, retained = 0;
  std::string slots;
  for (auto line : util::lines(facts.get(c.name, "slots"))) {
    const auto f = util::fields(line);
    if (f.size() < 3) continue;
    const auto bytes = number_of(f[2]).value_or(0);
    retained = std::max(retained, bytes);
    slots += fmt::format("{}{} keeps {}", slots.empty() ? "" : ", ", f[0], bytes_text(bytes));
  }
  j.o.values["SLOT_RETAINED_BYTES"] = retained;
  if (facts.get(c.name, "recovery") == "t") {
    const auto receiver = util::fields(facts.get(c.name, "receiver"));
    const auto lag = util::fields(facts.get(c.name, "lag"));
    if (lag.size() >= 2) {
      lag_bytes = number_of(lag[0]).value_or(0);
      lag_seconds = number_of(lag[1]).value_or(0);
    }
    const std::string status = receiver.empty() ? "none" : std::string(receiver[0]);
    j.target = fmt::format("replica of {} ({}, {} and {:.1f} s behind)", receiver.size() > 1 ? receiver[1] : "?",
                           status, bytes_text(lag_bytes), lag_seconds);
    if (status != "streaming") j.error = fmt::format("this replica's WAL receiver is not streaming ({})", status);
    j.o.values["MISSING_REPLICAS"] = status == "streaming" ? std::string() : plan.host;
    if (!slots.empty()) j.target += "; " + slots;
  } else {
    std::set<std::string> streaming;
    std::string seen;
    for (auto line : util::lines(facts.get(c.name, "replicas"))) {
      const auto f = util::fields(line);
      if (f.size() < 4) continue;
      if (f[1] == "streaming") streaming.insert(std::string(f[0]));
      lag_bytes = std::max(lag_bytes, number_of(f[2]).value_or(0));
      lag_seconds = std::max(lag_seconds, number_of(f[3]).value_or(0));
      seen += fmt::format("{}{} {}", seen.empty() ? "" : ", ", f[0], f[1]);
    }
    std::string missing;
    for (const auto& peer : c.peers) {
      if (!streaming.contains(peer)) missing += (missing.empty() ? "" : " ") + peer;
    }
    j.o.values["MISSING_REPLICAS"] = missing;
    j.target = fmt::format("primary ({}; {})", seen.empty() ? "no replica connected" : seen,
                           slots.empty() ? "no slot" : slots);
    if (!missing.empty()) j.error = fmt::format("replica {} is not streaming from this primary", missing);
  }
  j.o.values["REPLICA_LAG_BYTES"] = lag_bytes;
  j.o.values["REPLICA_LAG_SECONDS"] = lag_seconds;
  return j;
}

// Hours from an epoch to another, to a tenth.
double hours_between(double from, double to) { return std::round((to - from) / 360) / 10; }

Judged judge_offsite(const ServerCheck& c, const ServerPlan&, const ServerFacts& facts) {
  Judged j;
  const auto f = util::fields(facts.get(c.name, "record"));
  // -1: not recorded (the records hold seconds since the epoch).
  const double now = number_of(facts.get(c.name, "now")).value_or(-1);
  const double at = f.empty() ? -1 : number_of(f[0]).value_or(-1);
  const bool known = f.size() >= 3 && at >= 0 && now >= 0;
  if (c.kind == ServerCheckKind::offsite) {
    if (!known) {
      j.target = fmt::format("{}: no off-host copy from this server yet", c.subject);
      j.error = fmt::format("no off-host copy of {} from this server yet (berth db backup {} makes one)", c.subject,
                            c.subject);
      return j;
    }
    const auto age = hours_between(at, now);
    j.o.values["BACKUP_AGE_HOURS"] = age;
    j.target = fmt::format("{}: snapshot {} ({}), {:.1f} h old", c.subject, f[1],
                           bytes_text(number_of(f[2]).value_or(0)), age);
    return j;
  }
  if (!known) {
    j.o.values["VERIFY_RESULT"] = std::string("never");
    j.target = fmt::format("{}: never verified", c.subject);
    return j;
  }
  const auto age = hours_between(at, now);
  const std::string result(f[2]);
  j.o.values["VERIFY_RESULT"] = result;
  j.o.values["VERIFY_AGE_HOURS"] = age;
  const auto words = util::trim(facts.get(c.name, "record"));
  std::string detail;
  for (std::size_t skip = 0, pos = 0; skip < 3 && pos != std::string::npos; ++skip) {
    pos = words.find(' ', pos);
    if (pos != std::string::npos) detail = words.substr(++pos);
    else detail.clear();
  }
  j.target = result == "ok" ? fmt::format("{}: snapshot {} restored {:.1f} h ago, the query gave {}", c.subject, f[1],
                                          age, detail)
                            : fmt::format("{}: snapshot {} FAILED verification {:.1f} h ago: {}", c.subject, f[1],
                                          age, detail);
  return j;
}

Judged judge_ports(const ServerCheck&, const ServerPlan& plan, const ServerFacts& facts) {
  Judged j;
  std::vector<int> expected = plan.ports;
  const auto& live = facts.get("app", "live");
  if (!live.empty()) {
    const auto& app = live == "green" ? plan.green_ports : plan.blue_ports;
    expected.insert(expected.end(), app.begin(), app.end());
  }
  std::sort(expected.begin(), expected.end());
  for (int p : expected) j.target += (j.target.empty() ? "" : " ") + std::to_string(p);
  if (facts.has("ports", "ss")) {
    const auto listening = listening_ports(facts.get("ports", "ss"));
    std::string missing;
    for (int p : expected) {
      if (!listening.contains(p)) missing += (missing.empty() ? "" : " ") + std::to_string(p);
    }
    j.o.values["MISSING_PORTS"] = missing;
  }
  return j;
}

Judged judge_disk(const ServerCheck& c, const ServerPlan&, const ServerFacts& facts) {
  Judged j;
  j.target = c.subject;
  // df -P: Filesystem 1024-blocks Used Available Capacity Mounted-on
  const auto f = util::fields(facts.get(c.name, "df"));
  if (f.size() >= 6 && f[4].ends_with('%')) {
    if (auto n = number_of(f[4].substr(0, f[4].size() - 1))) j.o.values["DISK_USED"] = *n;
    j.target = fmt::format("{} ({} on {})", c.subject, f[0], f[5]);
  } else if (!facts.has(c.name, "df")) {
    j.error = c.subject + " does not exist on the server";
  }
  return j;
}

Judged judge_memory(const ServerCheck& c, const ServerPlan&, const ServerFacts& facts) {
  Judged j;
  j.target = c.subject;
  std::optional<double> total, available;
  for (auto line : util::lines(facts.get("memory", "meminfo"))) {
    const auto f = util::fields(line);
    if (f.size() < 2) continue;
    if (f[0] == "MemTotal:") total = number_of(f[1]);
    if (f[0] == "MemAvailable:") available = number_of(f[1]);
  }
  if (total && available && *total > 0) {
    j.o.values["MEMORY_AVAILABLE"] = std::round(*available / *total * 1000) / 10;
    j.target = fmt::format("{} MiB available of {} MiB", static_cast<long long>(*available / 1024),
                           static_cast<long long>(*total / 1024));
  }
  return j;
}

Judged judge_load(const ServerCheck& c, const ServerPlan&, const ServerFacts& facts) {
  Judged j;
  j.target = c.subject;
  const auto f = util::fields(facts.get("load", "loadavg"));
  const auto cores = number_of(facts.get("load", "cores"));
  // The 15-minute average: sustained overload, not a burst (a deploy's build).
  if (f.size() >= 3 && cores && *cores > 0) {
    if (auto load = number_of(f[2])) {
      j.o.values["LOAD_PER_CORE"] = std::round(*load / *cores * 100) / 100;
      j.target = fmt::format("15-minute load {} on {} core{}", f[2], *cores, *cores == 1 ? "" : "s");
    }
  }
  return j;
}

// One entry per kind: its name, how the script observes it, how it is judged.
struct KindEntry {
  ServerCheckKind kind;
  std::string_view name;
  std::string (*script)(const ServerCheck&, const ServerPlan&);
  Judged (*judge)(const ServerCheck&, const ServerPlan&, const ServerFacts&);
};

constexpr KindEntry kind_entries[] = {
    {ServerCheckKind::unit, "unit", script_unit, judge_unit},
    {ServerCheckKind::app, "app", script_app, judge_unit},
    {ServerCheckKind::direct, "direct", script_direct, judge_direct},
    {ServerCheckKind::timer, "timer", script_timer, judge_unit},
    {ServerCheckKind::database, "database", script_database, judge_database},
    {ServerCheckKind::replication, "replication", script_replication, judge_replication},
    {ServerCheckKind::offsite, "offsite", script_offsite, judge_offsite},
    {ServerCheckKind::verified, "verified", script_offsite, judge_offsite},
    {ServerCheckKind::ports, "ports", script_ports, judge_ports},
    {ServerCheckKind::disk, "disk", script_disk, judge_disk},
    {ServerCheckKind::memory, "memory", script_memory, judge_memory},
    {ServerCheckKind::load, "load", script_load, judge_load},
};

const KindEntry& kind_table(ServerCheckKind kind) {
  for (const auto& e : kind_entries) {
    if (e.kind == kind) return e;
  }
  return kind_entries[0];
}

}  // namespace

std::string_view kind_name(ServerCheckKind kind) { return kind_table(kind).name; }

std::span<const std::string> server_placeholders() {
  static const std::vector<std::string> names{
      "ACTIVE_STATE", "SUB_STATE",     "RESTARTS",  "RESULT",           "EXIT_STATUS",
      "LAST_TRIGGER", "MISSING_PORTS", "DISK_USED", "MEMORY_AVAILABLE", "LOAD_PER_CORE",
      "MISSING_REPLICAS", "REPLICA_LAG_BYTES", "REPLICA_LAG_SECONDS", "SLOT_RETAINED_BYTES",
      "BACKUP_AGE_HOURS", "VERIFY_RESULT", "VERIFY_AGE_HOURS"};
  return names;
}

ServerPlan plan_server_checks(const manifest::Manifest& m, const manifest::Server& server,
                              const std::vector<std::string>& only) {
  ServerPlan plan;
  plan.host = server.name;
  plan.app = m.app.name;
  auto add = [&](ServerCheck c) {
    if (matches_only(only, c.name)) plan.checks.push_back(std::move(c));
  };
  auto unit_check = [&](std::string unit, std::string journal) {
    ServerCheck c{.name = "unit:" + unit,
                  .kind = ServerCheckKind::unit,
                  .subject = unit + ".service",
                  .conditions = conditions_of({unit_active, unit_not_looping})};
    c.journal = std::move(journal);
    add(std::move(c));
  };

  // Databases (db role): the engine's unit, and a connection through its own client.
  if (server.has_role("db")) {
    std::set<manifest::Engine> engines;
    for (const auto& db : m.databases) {
      if (engines.insert(db.engine).second) {
        const auto unit = engine_unit(db.engine);
        unit_check(unit,
                   db.engine == manifest::Engine::postgresql ? "postgresql*" : unit + ".service");
        plan.ports.push_back(engine_port(db.engine));
      }
      ServerCheck c{.name = "db:" + db.key,
                    .kind = ServerCheckKind::database,
                    .subject = db.key,
                    .conditions = conditions_of({database_up})};
      c.engine = db.engine;
      c.db_name = db.name;
      c.db_user = db.user;
      c.secret_file = layout::secret_path(m, layout::password_secret(db));
      add(std::move(c));
      if (db.backups.enabled) {
        add({.name = "backup:" + db.key,
             .kind = ServerCheckKind::timer,
             .subject = layout::backup_unit(m, db),
             .conditions = conditions_of({unit_active, timer_result})});
      }
      if (db.backups.enabled && m.offsite) {
        ServerCheck copy{.name = "offsite:" + db.key, .kind = ServerCheckKind::offsite, .subject = db.key};
        copy.conditions = thresholds(m.server_checks.backup, fmt::format("[BACKUP_AGE_HOURS] < {}",
                                                                         hours_allowed(db.backups.schedule)));
        copy.record = layout::offsite_record(m, db, "last");
        copy.journal = layout::backup_unit(m, db) + ".service";
        add(std::move(copy));
      }
      const auto* primary = layout::database_server(m);
      if (db.backups.enabled && m.offsite && db.backups.verify && primary && primary->name == server.name) {
        ServerCheck v{.name = "verified:" + db.key, .kind = ServerCheckKind::verified, .subject = db.key};
        v.conditions = m.server_checks.verification.empty()
                           ? conditions_of({verify_ok, fmt::format("[VERIFY_AGE_HOURS] < {}",
                                                                   hours_allowed(db.backups.verify->schedule))})
                           : thresholds(m.server_checks.verification, "");
        // Only an age of its own: a failed verification still fails.
        if (std::none_of(v.conditions.begin(), v.conditions.end(), [](const Condition& cond) {
              return cond.left.name == "VERIFY_RESULT" || cond.right.name == "VERIFY_RESULT";
            })) {
          v.conditions.insert(v.conditions.begin(), conditions_of({verify_ok}).front());
        }
        v.record = layout::offsite_record(m, db, "verify");
        v.journal = layout::verify_unit(m, db) + ".service";
        add(std::move(v));
      }
    }
  }
  // PostgreSQL's primary and replicas: each sees its side of the streaming.
  const auto replicas = m.postgresql_replicas();
  const auto* db_primary = layout::database_server(m);
  if (server.has_role("db") && !replicas.empty() && db_primary != nullptr &&
      (server.name == db_primary->name || m.is_replica(server.name))) {
    ServerCheck c{.name = "replication", .kind = ServerCheckKind::replication, .subject = "postgresql"};
    c.conditions = conditions_of({replicas_streaming});
    const auto lag = m.server_checks.replication.empty() ? conditions_of({lag_bytes_threshold, lag_seconds_threshold})
                                                         : thresholds(m.server_checks.replication, "");
    const auto slot = thresholds(m.server_checks.replication_slot, slot_threshold);
    c.conditions.insert(c.conditions.end(), lag.begin(), lag.end());
    c.conditions.insert(c.conditions.end(), slot.begin(), slot.end());
    for (const auto& name : replicas) {
      if (name != server.name) c.peers.push_back(name);
    }
    if (db_primary->name != server.name) c.peers.push_back(db_primary->name);
    add(std::move(c));
  }
  // The app's instances of the live color (app role).
  if (server.has_role("app")) {
    plan.blue_ports = layout::app_ports(m, layout::Color::blue);
    plan.green_ports = layout::app_ports(m, layout::Color::green);
    plan.read_live_color = layout::read_live_color(m);
    for (int i = 1; i <= m.app.run.instances; ++i) {
      ServerCheck c{.name = fmt::format("app:{}", i),
                    .kind = ServerCheckKind::app,
                    .subject = m.app.name,
                    .conditions = conditions_of({unit_active, unit_not_looping}),
                    .instance = i};
      add(std::move(c));
    }
    // Behind proxies on other hosts, nothing else asks this server's instances what
    // the manifest's checks ask through the proxies.
    const bool behind = m.proxy && !server.has_role("proxy");
    for (const auto& h : m.health) {
      if (!behind || !checks_each_server(h)) continue;
      std::vector<Condition> conditions;
      for (const auto& text : h.conditions) {
        // Plain HTTP here: certificates are the proxies'.
        if (auto parsed = parse_condition(text.text);
            parsed && parsed->left.name != "CERTIFICATE_EXPIRATION" && parsed->right.name != "CERTIFICATE_EXPIRATION") {
          conditions.push_back(std::move(*parsed));
        }
      }
      if (conditions.empty()) conditions.push_back(*parse_condition("[STATUS] < 400"));
      for (int i = 1; i <= m.app.run.instances; ++i) {
        add({.name = fmt::format("direct:{}:{}", h.name, i),
             .kind = ServerCheckKind::direct,
             .subject = h.url,
             .conditions = conditions,
             .instance = i});
      }
    }
  }
  // nginx and the certificates it serves (proxy role).
  if (server.has_role("proxy") && m.proxy) {
    unit_check("nginx", "nginx.service");
    plan.ports.push_back(80);
    if (m.proxy->tls != manifest::Tls::off) {
      plan.ports.push_back(443);
      plan.certificates = matches_only(only, "cert:");
      plan.certificate_conditions = thresholds(m.server_checks.certificate, certificate_threshold);
    }
  }
  // Each job's timer where it is enabled (provisioners/jobs).
  if (server.has_role("app")) {
    const auto* primary = layout::primary_app_server(m);
    for (const auto& job : m.jobs) {
      if (!server.has_role(job.role)) continue;
      if (job.run_on == manifest::RunOn::one && !(primary && primary->name == server.name))
        continue;
      ServerCheck c{.name = "timer:" + job.name,
                    .kind = ServerCheckKind::timer,
                    .subject = fmt::format("{}-job-{}", m.app.name, job.name),
                    .conditions = conditions_of({unit_active, timer_result})};
      add(std::move(c));
    }
  }
  // Every host: listening ports, disks, memory, load.
  std::sort(plan.ports.begin(), plan.ports.end());
  plan.ports.erase(std::unique(plan.ports.begin(), plan.ports.end()), plan.ports.end());
  add({.name = "ports",
       .kind = ServerCheckKind::ports,
       .subject = "ports",
       .conditions = conditions_of({ports_listening})});
  add({.name = "disk:/",
       .kind = ServerCheckKind::disk,
       .subject = "/",
       .conditions = thresholds(m.server_checks.disk, disk_threshold)});
  if (server.has_role("app")) {
    add({.name = "disk:/srv",
         .kind = ServerCheckKind::disk,
         .subject = "/srv",
         .conditions = thresholds(m.server_checks.disk, disk_threshold)});
  }
  add({.name = "memory",
       .kind = ServerCheckKind::memory,
       .subject = "memory",
       .conditions = thresholds(m.server_checks.memory, memory_threshold)});
  add({.name = "load",
       .kind = ServerCheckKind::load,
       .subject = "load",
       .conditions = thresholds(m.server_checks.load, load_threshold)});
  return plan;
}

std::string render_server_script(const ServerPlan& plan) {
  std::string script(prelude);
  const auto at = script.find("JOURNAL_LINES");
  script.replace(at, 13, std::to_string(journal_lines));

  const auto has = [&](ServerCheckKind kind) {
    return std::any_of(plan.checks.begin(), plan.checks.end(), [&](const auto& c) { return c.kind == kind; });
  };
  if ((has(ServerCheckKind::app) || has(ServerCheckKind::direct) || has(ServerCheckKind::ports)) &&
      !plan.read_live_color.empty()) {
    // The live color, read as deploys read it.
    script += plan.read_live_color + "v app live \"$live\"\n";
  }
  for (const auto& c : plan.checks) script += kind_table(c.kind).script(c, plan);
  if (plan.certificates) {
    // Every certificate file nginx's enabled sites and conf.d name (not the keys).
    script += R"sh(i=0
for f in $(sed -n 's/^[[:space:]]*ssl_certificate[[:space:]]\{1,\}\([^;[:space:]]*\);.*/\1/p' /etc/nginx/sites-enabled/* /etc/nginx/conf.d/*.conf 2>/dev/null | sort -u); do
  i=$((i + 1))
  v "cert:$i" path "$f"
  end=$(openssl x509 -enddate -noout -in "$f" 2>&1)
  case $end in
  notAfter=*) v "cert:$i" end "$(date -d "${end#notAfter=}" +%s)" ;;
  *) v "cert:$i" error "$end" ;;
  esac
done
v clock now "$(date +%s)"
)sh";
  }
  script += "rec_end\n";
  return script;
}

const std::string& ServerFacts::get(std::string_view subject, std::string_view field) const {
  static const std::string none;
  const auto s = records.find(subject);
  if (s == records.end()) return none;
  const auto f = s->second.find(field);
  return f == s->second.end() ? none : f->second;
}

bool ServerFacts::has(std::string_view subject, std::string_view field) const {
  const auto s = records.find(subject);
  return s != records.end() && s->second.contains(field);
}

std::expected<ServerFacts, std::string> parse_server_output(const std::vector<util::Record>& records,
                                                         bool ended) {
  if (!ended) return std::unexpected(std::string("the script did not get to its end"));
  ServerFacts facts;
  for (const auto& r : records) facts.records[r.subject][r.field] = r.value;
  return facts;
}

std::vector<CheckResult> judge_server(const ServerPlan& plan, const ServerFacts& facts,
                                      std::chrono::milliseconds duration) {
  std::vector<CheckResult> out;
  for (const auto& c : plan.checks) {
    auto j = kind_table(c.kind).judge(c, plan, facts);
    out.push_back(judge(plan.host, c.name, std::string(kind_name(c.kind)), std::move(j.target), c.conditions,
                        j.o, std::move(j.error), duration, std::move(j.details)));
  }

  if (plan.certificates) {
    const auto& conditions = plan.certificate_conditions;
    const auto now = number_of(facts.get("clock", "now"));
    std::set<std::string> names;
    for (int i = 1; facts.has(fmt::format("cert:{}", i), "path"); ++i) {
      const auto subject = fmt::format("cert:{}", i);
      const auto path = facts.get(subject, "path");
      auto name = "cert:" + basename_of(path);
      if (!names.insert(name).second) name += fmt::format("#{}", i);
      Observation o;
      std::string error = facts.get(subject, "error");
      const auto end = number_of(facts.get(subject, "end"));
      if (end && now)
        o.certificate_expiration =
            std::chrono::milliseconds(static_cast<long long>((*end - *now) * 1000));
      out.push_back(
          judge(plan.host, name, "certificate", path, conditions, o, std::move(error), duration));
    }
  }
  return out;
}

CheckResult server_unreachable(std::string host, std::string why) {
  return judge(std::move(host), "server", "server", "the server-side checks", {}, {},
               std::move(why));
}

std::vector<CheckResult> run_server_checks(Remote& remote, const ServerPlan& plan) {
  if (plan.checks.empty() && !plan.certificates) return {};
  auto ran = remote.run_script(render_server_script(plan), Privilege::root);
  if (!ran) return {server_unreachable(plan.host, ran.error().what())};
  auto facts = parse_server_output(ran->records, ran->ended);
  if (!facts) {
    auto why = fmt::format("{}: the server-side check script failed (exit status {}): {}",
                           plan.host, ran->exit_status, facts.error());
    const auto tail = util::tail_lines(ran->err, 3);
    if (!tail.empty()) why += "; stderr: " + tail;
    return {server_unreachable(plan.host, std::move(why))};
  }
  return judge_server(plan, *facts, ran->duration);
}

}  // namespace berth::health
