#pragma once

// `berth db promote` and `berth db rejoin` on the db servers (docs/databases.md,
// "Switchover"): the order of the replication scripts (replication.hpp) over the hosts
// of one run, and what each step found. The app servers' part (their URLs, a gated
// restart) is the command's: it is a converge of the manifest as the switch leaves it.

#include <core/hosts.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace berth::db {

// A member of the PostgreSQL primary and its replicas, by index in the run's Hosts.
struct Member {
  std::size_t index = 0;
  std::string name;
  std::string address;               // its internal address
};

// Progress lines for the display ("db1: fencing"); may be empty.
using Progress = std::function<void(std::string_view)>;

struct Promotion {
  std::string version;               // PostgreSQL's major version; empty: the server's
  Member old_primary;
  Member target;
  std::vector<Member> others;        // the other replicas: they follow the new primary
  std::vector<std::size_t> record_on;  // hosts that keep the primary record (every db and app server)
  std::string record_path;           // layout::primary_record
  bool old_primary_lost = false;     // --old-primary-lost: promote without fencing an unreachable primary
};

struct Promoted {
  bool fenced = false;               // PostgreSQL on the old primary was stopped and fenced
  std::string fenced_lsn;            // its last checkpoint, replayed by the target first
  std::chrono::steady_clock::time_point writes_stopped;  // just before the fence (or the promote)
  std::chrono::steady_clock::time_point promoted;        // the target accepts writes
  std::vector<std::string> warnings; // other replicas or records that could not follow
};

// Checks that the target is a streaming replica and the old primary is reachable (or
// lost, with old_primary_lost), fences the old primary, promotes the target once it
// replayed the old primary's last checkpoint, points the other replicas at it and
// records it on `record_on`. Throws berth::Error naming the host and the step; when the
// promotion fails after the fence, the old primary is unfenced (the primary again).
Promoted promote(Hosts& hosts, const Promotion& p, const Progress& progress = {});

struct Rejoin {
  std::string version;
  Member member;                     // the server to bring back as a replica
  std::vector<Member> candidates;    // the other members: the running primary is among them
  std::vector<std::size_t> record_on;
  std::string record_path;
};

struct Rejoined {
  Member primary;                    // the primary it streams from
  std::string method;                // "rewind" or "basebackup"
  std::vector<std::string> warnings; // records that could not be written
};

// Finds the one running primary among the candidates, refuses when the member itself
// accepts writes, then runs rejoin_script on it and records the primary. Throws
// berth::Error naming the host and the step.
Rejoined rejoin(Hosts& hosts, const Rejoin& r, const Progress& progress = {});

}  // namespace berth::db
