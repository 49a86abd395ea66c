#pragma once

// PostgreSQL streaming replication as berth drives it (docs/databases.md, "Replicas"):
// the scripts that clone a replica, fence and promote for a switchover, and bring an old
// primary back as a replica, as pure functions of what they need. PostgreSQL does the
// replication (pg_basebackup, slots, pg_promote, pg_rewind); these only order it.
//
// Every script runs as root through Remote::run_script, reports in framed records, and
// reads the replication password from the passfile on the server (never in argv or in
// the script). `version` empty means the newest cluster in /etc/postgresql.

#include <core/util/frame.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::db {

// Where one replica connects: the primary's address and its own server name (its
// application_name in pg_stat_replication, and its slot's name on the primary).
struct Upstream {
  std::string version;
  std::string primary;   // the primary's internal address
  std::string self;      // this server's name in the manifest
};

// The cluster's config folder, data folder and systemd unit on Debian.
std::string conf_dir(std::string_view version);
std::string data_dir(std::string_view version);
// The file that makes a cluster a replica of `up.primary`: conf.d/berth-replica.conf.
std::string standby_conf(std::string_view version);
// Its content: primary_conninfo (user berth_replication, the passfile, application_name
// = up.self) and primary_slot_name.
std::string standby_conf_content(const Upstream& up);
// The marker a replica gets once it was cloned (or rejoined) by berth: setup never
// clones over a server that has it.
std::string replica_marker(std::string_view version);

// Clones the replica from the primary, once (setup's guarded command): refuses when
// the server's PostgreSQL has databases of its own or cannot be asked; waits up to
// 300 s for the primary to let the replication role in (hosts converge in parallel);
// makes its slot; moves the empty data folder aside, runs pg_basebackup, and puts the
// old folder back when that fails; starts it as a standby and waits until it streams.
std::string clone_script(const Upstream& up);

// What one PostgreSQL server says of itself: records "pg up|recovery|receiver|lsn".
std::string status_script(std::string_view version);
struct Status {
  bool up = false;            // answered
  bool recovery = false;      // a standby
  std::string receiver;       // pg_stat_wal_receiver.status ("streaming"), standby only
  std::string lsn;            // primary: pg_current_wal_lsn; standby: pg_last_wal_replay_lsn
  std::string error;          // why it did not answer
};
Status parse_status(const std::vector<util::Record>& records);

// Fences the primary for a switchover: stops PostgreSQL (a clean shutdown first sends
// the connected replicas every WAL record, its own checkpoint included) and leaves a
// standby.signal so that a restart comes up read-only. Reports "fence lsn LSN": the
// last checkpoint, which the new primary must have replayed.
std::string fence_script(std::string_view version);
// Undoes fence_script when the promotion does not happen: the server is the primary again.
std::string unfence_script(std::string_view version);
std::optional<std::string> fenced_lsn(const std::vector<util::Record>& records);

// On the replica to promote: waits up to `wait_seconds` until it replayed past `lsn`
// (skipped when empty), then pg_promote, and checks that it accepts writes.
std::string promote_script(std::string_view version, std::string_view lsn, int wait_seconds);

// Writes the standby conf for `up` and reloads (a replica that follows a new primary).
std::string follow_script(const Upstream& up);

// Brings a stopped or running server back as a replica of `up.primary`: stops it, makes
// its slot on the primary, rewinds it with pg_rewind (or, when pg_rewind cannot, a fresh
// base backup, the old data moved aside until it succeeded), writes the standby conf,
// starts it and waits until it streams. Reports "rejoin method rewind|basebackup".
std::string rejoin_script(const Upstream& up);

// Writes `primary` (a server name) into the record file `path` (layout::primary_record).
std::string record_primary_script(std::string_view path, std::string_view primary);

}  // namespace berth::db
