#include <core/db/replication.hpp>
#include <core/layout/layout.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

namespace berth::db {

using util::shell_quote;

namespace {

// What every script starts with: the cluster's folders and unit, and psql as postgres.
std::string prelude(std::string_view version) {
  return fmt::format(
      "set -u\ncd /\nV={}\n"
      "[ -n \"$V\" ] || V=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1)\n"
      "[ -n \"$V\" ] || {{ echo 'PostgreSQL is not installed here (no /etc/postgresql/VERSION): run berth setup' >&2; "
      "exit 1; }}\n"
      "data=/var/lib/postgresql/$V/main conf=/etc/postgresql/$V/main unit=postgresql@$V-main.service\n"
      "bin=/usr/lib/postgresql/$V/bin\n"
      "say() {{ printf '%s\\n' \"$*\" >&2; }}\n"
      "local_sql() {{ runuser -u postgres -- psql -X -qtA -v ON_ERROR_STOP=1 \"$@\"; }}\n",
      shell_quote(version));
}

// The functions a replica's scripts share: SQL on the primary as the replication role,
// waiting for it, its slot, the standby conf, a base backup, waiting to stream.
std::string replica_functions(const Upstream& up) {
  const auto slot = layout::replication_slot(up.self);
  const auto primary = shell_quote(up.primary);
  return fmt::format(
      "primary={0}\n"
      "primary_sql() {{ runuser -u postgres -- env PGPASSFILE={1} PGCONNECT_TIMEOUT=5 psql -X -qtA -w "
      "-v ON_ERROR_STOP=1 -h \"$primary\" -p 5432 -U {2} -d postgres \"$@\"; }}\n"
      // Hosts converge in parallel: the primary may still be installing PostgreSQL or
      // creating the role.
      "wait_primary() {{\n"
      "  i=0\n"
      "  until err=$(primary_sql -c 'SELECT 1' 2>&1); do\n"
      "    i=$((i + 1))\n"
      "    [ \"$i\" -lt 100 ] || {{ say \"the primary $primary did not let {2} in within 300 s: $err\"; return 1; }}\n"
      "    sleep 3\n"
      "  done\n"
      "}}\n"
      "make_slot() {{\n"
      "  primary_sql -c \"SELECT pg_create_physical_replication_slot('{3}', true) WHERE NOT EXISTS "
      "(SELECT 1 FROM pg_replication_slots WHERE slot_name = '{3}')\" >/dev/null\n"
      "}}\n"
      "write_standby() {{\n"
      "  install -d -m 0755 \"$conf/conf.d\" && cat > \"$conf/conf.d/.berth-replica.conf.tmp\" <<'@@berth-conf'\n"
      "{4}@@berth-conf\n"
      "  chmod 0644 \"$conf/conf.d/.berth-replica.conf.tmp\" &&\n"
      "    mv \"$conf/conf.d/.berth-replica.conf.tmp\" \"$conf/conf.d/berth-replica.conf\"\n"
      "}}\n"
      "standby_signal() {{ install -o postgres -g postgres -m 0600 /dev/null \"$data/standby.signal\"; }}\n"
      // The data folder is moved aside, not deleted, until the copy streams.
      "base_backup() {{\n"
      "  systemctl stop \"$unit\" || return 1\n"
      // A copy cut off earlier left the real data aside: keep that, drop the partial copy.
      "  if [ -d \"$data.berth-old\" ]; then rm -rf \"$data\"; else mv \"$data\" \"$data.berth-old\" || return 1; fi\n"
      "  install -d -o postgres -g postgres -m 0700 \"$data\"\n"
      "  if ! out=$(runuser -u postgres -- env PGPASSFILE={1} \"$bin/pg_basebackup\" -h \"$primary\" -p 5432 "
      "-U {2} -w -D \"$data\" -X stream -S {3} --checkpoint=fast 2>&1); then\n"
      "    rm -rf \"$data\"; mv \"$data.berth-old\" \"$data\"; systemctl start \"$unit\" || true\n"
      "    say \"pg_basebackup from $primary failed; this server's previous data is back in place: $out\"\n"
      "    return 1\n"
      "  fi\n"
      "  write_standby && standby_signal && systemctl start \"$unit\"\n"
      "}}\n"
      "wait_streaming() {{\n"
      "  i=0\n"
      "  while :; do\n"
      "    st=$(local_sql -c 'SELECT status FROM pg_stat_wal_receiver' 2>/dev/null)\n"
      "    [ \"$st\" = streaming ] && return 0\n"
      "    i=$((i + 1))\n"
      "    if [ \"$i\" -ge 60 ]; then\n"
      "      say \"PostgreSQL here does not stream from $primary after 60 s (receiver: ${{st:-none}}); its log:\"\n"
      "      tail -n 15 \"/var/log/postgresql/postgresql-$V-main.log\" >&2 2>/dev/null || true\n"
      "      return 1\n"
      "    fi\n"
      "    sleep 1\n"
      "  done\n"
      "}}\n"
      "mark() {{ touch \"/var/lib/postgresql/$V/berth-replica\"; }}\n"
      // A replica keeps no slot of its own: one left from its time as the primary would
      // hold its WAL forever.
      "drop_own_slots() {{\n"
      "  local_sql -c \"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE "
      "'berth\\_%' AND NOT active\" >/dev/null || say 'could not drop the slots this server kept as the primary'\n"
      "}}\n",
      primary, layout::replication_passfile, layout::replication_role, slot, standby_conf_content(up));
}

}  // namespace

std::string conf_dir(std::string_view version) { return fmt::format("/etc/postgresql/{}/main", version); }
std::string data_dir(std::string_view version) { return fmt::format("/var/lib/postgresql/{}/main", version); }
std::string standby_conf(std::string_view version) { return conf_dir(version) + "/conf.d/berth-replica.conf"; }
std::string replica_marker(std::string_view version) {
  return fmt::format("/var/lib/postgresql/{}/berth-replica", version);
}

std::string standby_conf_content(const Upstream& up) {
  return fmt::format("# berth: this server is a replica of {0} (docs/databases.md, \"Replicas\").\n"
                     "primary_conninfo = 'host={0} port=5432 user={1} passfile={2} application_name={3}'\n"
                     "primary_slot_name = '{4}'\n",
                     up.primary, layout::replication_role, layout::replication_passfile, up.self,
                     layout::replication_slot(up.self));
}

std::string clone_script(const Upstream& up) {
  return prelude(up.version) + replica_functions(up) +
         fmt::format(
             // A clone cut off while copying left the server's own (empty) data aside.
             "if [ -d \"$data.berth-old\" ]; then\n"
             "  rm -rf \"$data\" && mv \"$data.berth-old\" \"$data\" && systemctl start \"$unit\" || exit 1\n"
             "fi\n"
             "if ! own=$(local_sql -c \"SELECT coalesce(string_agg(datname, ' '), '') FROM pg_database WHERE "
             "datname NOT IN ('postgres', 'template0', 'template1')\" 2>&1); then\n"
             "  say \"PostgreSQL here did not answer, so berth cannot tell whether it holds data and does not "
             "clone the primary over it: $own\"\n"
             "  exit 1\n"
             "fi\n"
             "if [ -n \"$own\" ]; then\n"
             "  say \"PostgreSQL here has databases of its own ($own): berth does not clone the primary over "
             "them; \\`berth db rejoin DATABASE {}\\` replaces them with a copy of the primary\"\n"
             "  exit 1\n"
             "fi\n"
             "wait_primary && make_slot && base_backup && wait_streaming || exit 1\n"
             "rm -rf \"$data.berth-old\"\n"
             "mark\n",
             up.self);
}

std::string status_script(std::string_view version) {
  return prelude(version) +
         "if r=$(local_sql -c 'SELECT pg_is_in_recovery()' 2>&1); then\n"
         "  rec pg up yes\n"
         "  rec pg recovery \"$r\"\n"
         "  if [ \"$r\" = t ]; then\n"
         "    rec pg receiver \"$(local_sql -c 'SELECT status FROM pg_stat_wal_receiver' 2>/dev/null)\"\n"
         "    rec pg lsn \"$(local_sql -c 'SELECT pg_last_wal_replay_lsn()' 2>/dev/null)\"\n"
         "  else\n"
         "    rec pg lsn \"$(local_sql -c 'SELECT pg_current_wal_lsn()' 2>/dev/null)\"\n"
         "  fi\n"
         "else\n"
         "  rec pg up no\n"
         "  rec pg error \"$r\"\n"
         "fi\n";
}

Status parse_status(const std::vector<util::Record>& records) {
  Status s;
  for (const auto& r : records) {
    if (r.subject != "pg") continue;
    if (r.field == "up") s.up = r.value == "yes";
    if (r.field == "recovery") s.recovery = r.value == "t";
    if (r.field == "receiver") s.receiver = r.value;
    if (r.field == "lsn") s.lsn = r.value;
    if (r.field == "error") s.error = util::trim(r.value);
  }
  return s;
}

std::string fence_script(std::string_view version) {
  return prelude(version) +
         "if systemctl is-active --quiet \"$unit\"; then\n"
         "  rec fence active yes\n"
         "  systemctl stop \"$unit\" || { say \"could not stop $unit\"; exit 1; }\n"
         "else\n"
         "  rec fence active no\n"
         "fi\n"
         "install -o postgres -g postgres -m 0600 /dev/null \"$data/standby.signal\" || exit 1\n"
         "control=$(\"$bin/pg_controldata\" \"$data\") || exit 1\n"
         "rec fence lsn \"$(printf '%s\\n' \"$control\" | sed -n 's/^Latest checkpoint location: *//p')\"\n"
         "rec fence state \"$(printf '%s\\n' \"$control\" | sed -n 's/^Database cluster state: *//p')\"\n";
}

std::string unfence_script(std::string_view version) {
  return prelude(version) + "rm -f \"$data/standby.signal\" && systemctl start \"$unit\"\n";
}

std::optional<std::string> fenced_lsn(const std::vector<util::Record>& records) {
  std::string lsn, state;
  for (const auto& r : records) {
    if (r.subject == "fence" && r.field == "lsn") lsn = util::trim(r.value);
    if (r.subject == "fence" && r.field == "state") state = util::trim(r.value);
  }
  // Only a clean shutdown's checkpoint is the last thing the primary wrote.
  const bool hex = !lsn.empty() && lsn.find_first_not_of("0123456789ABCDEFabcdef/") == std::string::npos;
  if (!hex || (state != "shut down" && state != "shut down in recovery")) return std::nullopt;
  return lsn;
}

std::string promote_script(std::string_view version, std::string_view lsn, int wait_seconds) {
  return prelude(version) +
         fmt::format(
             "[ \"$(local_sql -c 'SELECT pg_is_in_recovery()' 2>&1)\" = t ] || {{ say 'PostgreSQL here is not "
             "a running replica'; exit 1; }}\n"
             "lsn={0}\n"
             "if [ -n \"$lsn\" ]; then\n"
             "  i=0\n"
             "  until [ \"$(local_sql -c \"SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '$lsn') > 0\")\" = t ]; "
             "do\n"
             "    i=$((i + 1))\n"
             "    [ \"$i\" -lt {1} ] || {{ say \"this replica did not replay the old primary's last WAL ($lsn) "
             "within {2} s\"; exit 3; }}\n"
             "    sleep 0.1\n"
             "  done\n"
             "fi\n"
             "r=$(local_sql -c 'SELECT pg_promote(true, 60)' 2>&1)\n"
             "[ \"$r\" = t ] || {{ say \"pg_promote did not finish within 60 s: $r\"; exit 1; }}\n"
             "[ \"$(local_sql -c 'SELECT pg_is_in_recovery()')\" = f ] || {{ say 'still in recovery after "
             "pg_promote'; exit 1; }}\n"
             "rec promote lsn \"$(local_sql -c 'SELECT pg_current_wal_lsn()')\"\n",
             shell_quote(lsn), wait_seconds * 10, wait_seconds);
}

std::string follow_script(const Upstream& up) {
  return prelude(up.version) + replica_functions(up) +
         "write_standby && systemctl reload \"$unit\" || exit 1\n"
         "make_slot || say \"could not make this replica's slot on $primary\"\n";
}

std::string rejoin_script(const Upstream& up) {
  return prelude(up.version) + replica_functions(up) +
         "systemctl stop \"$unit\" || exit 1\n"
         "wait_primary && make_slot && write_standby || exit 1\n"
         "if out=$(runuser -u postgres -- env PGPASSFILE=" +
         std::string(layout::replication_passfile) +
         " \"$bin/pg_rewind\" --target-pgdata=\"$data\" --config-file=\"$conf/postgresql.conf\" "
         "--source-server=\"host=$primary port=5432 user=" +
         std::string(layout::replication_role) +
         " dbname=postgres\" 2>&1); then\n"
         "  method=rewind\n"
         "  standby_signal && systemctl start \"$unit\" || exit 1\n"
         "else\n"
         "  say \"pg_rewind could not rewind this server ($(printf '%s\\n' \"$out\" | tail -n 2 | tr '\\n' ' ')): "
         "copying the primary afresh\"\n"
         "  method=basebackup\n"
         "  base_backup || exit 1\n"
         "fi\n"
         "wait_streaming || exit 1\n"
         "drop_own_slots\n"
         "rm -rf \"$data.berth-old\"\n"
         "mark\n"
         "rec rejoin method \"$method\"\n";
}

std::string record_primary_script(std::string_view path, std::string_view primary) {
  const auto p = shell_quote(path);
  return fmt::format("set -e\nmkdir -p \"$(dirname {0})\"\nprintf '%s\\n' {1} > {0}.tmp\nmv {0}.tmp {0}\n",
                     p, shell_quote(primary));
}

}  // namespace berth::db
