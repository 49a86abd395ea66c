#pragma once

// The remote half of a deploy, as POSIX sh scripts: pure functions of their inputs,
// unit-tested here and run by core/deploy/deploy.cpp (one exec each, on each host).
// Layout on the server (see provisioners/provisioner.hpp):
//   /srv/APP/releases/ID        one folder per release (.berth-release marks it complete)
//   /srv/APP/instances/PORT     -> the release an instance runs
//   /srv/APP/current            -> the live release
//   /etc/berth/APP/upstream.conf  nginx upstream of the live color
//   /var/lib/berth/APP/lock/    the deploy lock (info: owner, command, times)

#include <core/manifest/manifest.hpp>
#include <core/util/frame.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace berth::deploy {

// Who holds the lock, as the lock script reports it.
struct LockInfo {
  std::string token;
  std::string owner;       // user@machine
  std::string pid;         // of the berth process on `machine`
  std::string command;     // "deploy", "rollback"
  long started = 0;        // unix seconds
  long heartbeat = 0;
  long ttl = 0;            // seconds after the last heartbeat when it expires
  bool dead = false;       // its run's SSH session to the host is gone (lock_status_script)
  // Whether its holder stopped beating more than ttl seconds before `now` (unix seconds).
  bool expired(long now) const { return now - heartbeat > ttl; }
};

// Exit statuses of lock_acquire_script.
inline constexpr int lock_held_status = 75;

// Takes the lock (mkdir is atomic) or, when held, reports the holder (a record "lock
// info" of KEY=VALUE lines) and exits lock_held_status. An expired lock (heartbeat
// older than its ttl), a dead one (its holder's SSH session to this host is gone), or
// one whose token is `break_token`, is taken over.
std::string lock_acquire_script(const manifest::Manifest& m, const LockInfo& me,
                                const std::string& break_token = {});
// The prelude of every script of a release run: fails unless `token` holds the lock,
// refreshes its heartbeat, records `step` as the host's current step, and defines
// `fence`, which start, switch, finalize and stop scripts call before each change: it
// ends the script once a later step or run has taken over. A script whose SSH session
// was cut keeps running on the server; fenced, it cannot undo what its successor did
// (stop the instances a switch back returned to, say).
std::string lock_fence_script(const manifest::Manifest& m, const std::string& token, const std::string& step);
// Exits 0 unless the lock is dead: held by a run whose SSH connection to this host is
// gone (a lock holds its holder's sshd session), for a guarded converge command.
std::string stale_lock_test_script(const manifest::Manifest& m);
// Removes the lock if it is dead (as stale_lock_test_script tells).
std::string stale_lock_release_script(const manifest::Manifest& m);
// Releases the lock if `token` holds it; with an empty token, whoever holds it.
std::string lock_release_script(const manifest::Manifest& m, const std::string& token);
// Reports the holder as lock_acquire_script does, or nothing; "lock dead yes" when
// the holder's SSH session to this host is gone.
std::string lock_status_script(const manifest::Manifest& m);
// Reads the "lock info" record of the scripts above (defaults when there is none).
LockInfo parse_lock_info(const std::vector<util::Record>& records);

// After the upload: removes release folders an earlier upload left incomplete, marks
// the release complete, owned by the app user, with the entries of shared/ linked
// in; reports "state live blue|green" and "state current ID" (after running a reload
// of nginx that an interrupted switch owes), "state rollback ID" while a rollback
// to ID is unfinished, "state owed_restart yes" while a restart is owed, and for
// runtime node "state node VERSION" (`node --version`). Starts the live color's
// instances that are not running.
std::string prepare_script(const manifest::Manifest& m, const std::string& release);

// Reports "state live blue|green" and "state current ID" (may be empty), and "state
// release ID" for each complete release, newest first, followed by "state served ID"
// when that release has been live (a release that failed its checks never was), and
// "state rollback ID" while a rollback to ID is unfinished. With `start_live`, first
// starts the live color's instances that are not running (a run cut off at the wrong
// moment, an instance stopped by hand): nginx sends them requests.
std::string state_script(const manifest::Manifest& m, bool start_live = false);

// Records that a rollback to `release` is under way (finalize_script clears it).
std::string rollback_intent_script(const manifest::Manifest& m, const std::string& release);

// Runs the migration in the release folder as the app user with the app's
// environment (systemd-run), printing its output.
std::string migrate_script(const manifest::Manifest& m, const std::string& release,
                           const std::string& command);

// Points the instances of `ports` at the release, (re)starts them, waits up to
// `wait` for each to answer HTTP, then reports for each port the records
// "PORT probe STATUS MILLISECONDS" and "PORT body BODY" of GET `path` (STATUS 0 when
// it never answered).
std::string start_script(const manifest::Manifest& m, const std::string& release,
                         const std::vector<int>& ports, const std::string& path,
                         std::chrono::seconds wait);

// Probes `ports` again (the same records as start_script), without restarting.
std::string probe_script(const std::vector<int>& ports, const std::string& path);

// Points nginx's upstream files (path, content) at new instances: the ones whose
// content differs are replaced atomically; with `nginx`, then `nginx -t` (every
// replaced file put back, and the script failing, when it fails) and a reload, owed
// (converge/apply.hpp) while a new file is in place and nginx has not reloaded.
// Nothing changes, and nginx is not reloaded, when every file has its content already.
std::string upstream_script(const std::vector<std::pair<std::string, std::string>>& files, bool nginx);

// After a passed gate: `current` -> release, the new instances enabled, the old ones
// stopped and disabled once drained (drain_wait_script, `drain` at most), releases beyond keep_releases pruned (never the
// current one), and an owed restart of the app recorded before the new instances
// started cleared (they run with the configuration it was owed for), and a rollback's
// record of its target cleared.
std::string finalize_script(const manifest::Manifest& m, const std::string& release,
                            const std::vector<int>& new_ports, const std::vector<int>& old_ports,
                            std::chrono::milliseconds drain);

// Shell lines that wait, `drain` at most, until instances leaving service have no
// request in flight: no established TCP connection to `ports` on this host (nginx's,
// local or from a proxy server) and no nginx worker of this host still shutting down
// (one may hold a request it has not passed on yet). With no ports, only the latter.
std::string drain_wait_script(const std::vector<int>& ports, std::chrono::milliseconds drain);

// Records an owed restart of the app again (a switch back after finalize cleared it).
std::string owe_restart_script(const manifest::Manifest& m);

// Clears the record of an owed restart of the app: there is nothing live to restart.
std::string clear_owed_restart_script(const manifest::Manifest& m);

// Before a switch back to the instances of `ports`: `current` -> `release` again (when
// not empty), and each instance that is not running (a finalize cut off from its run
// may have stopped it) enabled, started and given up to `wait` to answer HTTP.
std::string serve_again_script(const manifest::Manifest& m, const std::string& release,
                               const std::vector<int>& ports, std::chrono::seconds wait);

// Without a proxy (a release restarts the instances in place), the switch back: the
// instances of `ports` run `release` again (linked, restarted, enabled, given up to
// `wait` to answer) and `current` points at it.
std::string restart_in_place_script(const manifest::Manifest& m, const std::string& release,
                                    const std::vector<int>& ports, std::chrono::seconds wait);

// Stops the instances of `ports` and prints the last `lines` journal lines of each.
std::string stop_script(const manifest::Manifest& m, const std::vector<int>& ports, int lines);

// The records of start_script/probe_script.
struct InstanceProbe {
  int port = 0;
  int status = 0;
  std::chrono::milliseconds time{0};
  std::string body;
};
std::vector<InstanceProbe> parse_probes(const std::vector<util::Record>& records);

// The "state FIELD VALUE" records of prepare_script and state_script, as pairs in order.
std::vector<std::pair<std::string, std::string>> state_records(const std::vector<util::Record>& records);

// KEY=VALUE lines as pairs, in order (the lock's info file).
std::vector<std::pair<std::string, std::string>> parse_pairs(std::string_view text);

}  // namespace berth::deploy
