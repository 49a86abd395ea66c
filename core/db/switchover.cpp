#include <core/db/replication.hpp>
#include <core/db/switchover.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

#include <map>
#include <optional>

namespace berth::db {

namespace {

// What one host's script left: its records, or the Error of its run.
struct Ran {
  std::vector<util::Record> records;
  std::optional<Error> error;
  bool unreachable = false;
};

// Runs each host's script (hosts not in `scripts` do nothing) and returns what each left.
std::map<std::size_t, Ran> run_on(Hosts& hosts, const std::map<std::size_t, std::string>& scripts,
                                  std::string_view step) {
  std::map<std::size_t, Ran> out;
  for (const auto& [index, script] : scripts) out[index];
  const auto results = hosts.run([&](std::size_t i, Remote& remote) -> std::expected<void, Error> {
    const auto it = scripts.find(i);
    if (it == scripts.end()) return {};
    const auto ran = remote.run_script(it->second, Privilege::root);
    if (ran) out[i].records = ran->records;
    return script_ok(remote, step, ran, 6);
  });
  for (auto& [index, ran] : out) {
    ran.error = results[index].error;
    ran.unreachable = results[index].unreachable();
  }
  return out;
}

Ran run_one(Hosts& hosts, std::size_t index, const std::string& script, std::string_view step) {
  return std::move(run_on(hosts, {{index, script}}, step)[index]);
}

void say(const Progress& progress, std::string_view host, std::string_view what) {
  if (progress) progress(fmt::format("{}: {}", host, what));
}

// Writes the primary record on every host of `on`; the hosts where it failed as warnings.
std::vector<std::string> record(Hosts& hosts, const std::vector<std::size_t>& on, const std::string& path,
                                const std::string& primary) {
  std::map<std::size_t, std::string> scripts;
  for (auto i : on) scripts[i] = record_primary_script(path, primary);
  std::vector<std::string> warnings;
  for (const auto& [index, ran] : run_on(hosts, scripts, "recording the primary")) {
    if (ran.error) {
      warnings.push_back(fmt::format("{} (record it there before its next setup: {} names {})", ran.error->what(),
                                     path, primary));
    }
  }
  return warnings;
}

}  // namespace

Promoted promote(Hosts& hosts, const Promotion& p, const Progress& progress) {
  Promoted out;
  const auto& target = p.target;
  const auto& old = p.old_primary;

  // Both ends first: nothing changes unless the target streams and the old primary is
  // known (reachable, or declared lost).
  say(progress, target.name, "checking the replica");
  auto status = run_on(hosts, {{target.index, status_script(p.version)}, {old.index, status_script(p.version)}},
                       "checking PostgreSQL");
  const auto& t = status[target.index];
  if (t.error) throw *t.error;
  const auto ts = parse_status(t.records);
  if (!ts.up) {
    throw Error(util::about(target.name, fmt::format("PostgreSQL does not answer ({}): nothing was changed", ts.error)),
                ExitCode::failure, "`berth health` shows the replication; start it, or pass another replica to --to");
  }
  if (!ts.recovery) {
    throw Error(util::about(target.name, "PostgreSQL here accepts writes already (a promote ran): nothing was changed"),
                ExitCode::failure,
                fmt::format("to finish a promote that was cut off, make the manifest name {} the primary (its `replicas` "
                            "without it, with {}) and run `berth setup`",
                            target.name, old.name));
  }
  const auto& o = status[old.index];
  const auto os = o.error ? db::Status{} : parse_status(o.records);
  // While the old primary takes writes, only a streaming replica has them all. When it
  // is down (fenced by a promote that was cut off), the LSN check below decides.
  if (os.up && !os.recovery && ts.receiver != "streaming") {
    throw Error(util::about(target.name, fmt::format("this replica does not stream from the primary (WAL receiver: {}): "
                                                     "promoting it would lose what it has not received; nothing was "
                                                     "changed",
                                                     ts.receiver.empty() ? "none" : ts.receiver)),
                ExitCode::failure, "`berth health` shows the replication; fix it, or pass a streaming replica to --to");
  }
  if (o.error && !(o.unreachable && p.old_primary_lost)) {
    throw Error(o.error->what(), o.error->code(),
                o.unreachable ? fmt::format("berth fences {} before it promotes, so that two primaries never take "
                                            "writes. When {} is gone for good, pass --old-primary-lost: what it "
                                            "acknowledged and did not send yet is then lost",
                                            old.name, old.name)
                              : o.error->hint());
  }

  // Fence: from here on the old primary takes no write.
  out.writes_stopped = std::chrono::steady_clock::now();
  bool was_active = false;
  if (!o.error) {
    say(progress, old.name, "stopping PostgreSQL (fence)");
    const auto fenced = run_one(hosts, old.index, fence_script(p.version), "fencing the old primary");
    if (fenced.error) throw *fenced.error;
    for (const auto& r : fenced.records) {
      if (r.subject == "fence" && r.field == "active") was_active = util::trim(r.value) == "yes";
    }
    out.fenced = true;
    const auto lsn = fenced_lsn(fenced.records);
    if (!lsn && !p.old_primary_lost) {
      if (was_active) run_one(hosts, old.index, unfence_script(p.version), "unfencing");
      throw Error(util::about(old.name, "PostgreSQL here was not shut down cleanly, so berth cannot tell what it "
                                        "wrote last; it is as it was, and nothing was promoted"),
                  ExitCode::failure,
                  "start it and run the promote again, or pass --old-primary-lost to promote without that check");
    }
    if (lsn) out.fenced_lsn = *lsn;
  }

  // Promote once the target has everything the old primary wrote.
  say(progress, target.name, out.fenced_lsn.empty() ? "promoting" : "replaying up to " + out.fenced_lsn + ", promoting");
  const auto promoted = run_one(hosts, target.index, promote_script(p.version, out.fenced_lsn, 30), "the promotion");
  if (promoted.error) {
    if (out.fenced && was_active) {
      const auto back = run_one(hosts, old.index, unfence_script(p.version), "unfencing");
      throw Error(promoted.error->what(), ExitCode::failure,
                  back.error ? fmt::format("{} stays fenced and could not be started again: {}", old.name,
                                           back.error->what())
                             : fmt::format("{} is the primary again, as before", old.name));
    }
    throw *promoted.error;
  }
  out.promoted = std::chrono::steady_clock::now();

  // The other replicas follow the new primary (PostgreSQL follows the new timeline).
  std::map<std::size_t, std::string> follow;
  for (const auto& other : p.others) {
    follow[other.index] = follow_script({p.version, target.address, other.name});
  }
  for (const auto& [index, ran] : run_on(hosts, follow, "following the new primary")) {
    if (ran.error) out.warnings.push_back(ran.error->what());
  }
  const auto warnings = record(hosts, p.record_on, p.record_path, target.name);
  out.warnings.insert(out.warnings.end(), warnings.begin(), warnings.end());
  return out;
}

Rejoined rejoin(Hosts& hosts, const Rejoin& r, const Progress& progress) {
  // Who is the primary now: the one candidate that answers and accepts writes.
  std::map<std::size_t, std::string> scripts{{r.member.index, status_script(r.version)}};
  for (const auto& c : r.candidates) scripts[c.index] = status_script(r.version);
  say(progress, r.member.name, "looking for the primary");
  auto status = run_on(hosts, scripts, "checking PostgreSQL");
  const auto& self = status[r.member.index];
  if (self.error) throw *self.error;
  if (const auto s = parse_status(self.records); s.up && !s.recovery) {
    throw Error(util::about(r.member.name, "PostgreSQL here accepts writes: berth does not turn a running primary "
                                           "into a replica; nothing was changed"),
                ExitCode::failure, "`berth db promote` moves the primary elsewhere first (it fences this one)");
  }
  std::vector<const Member*> primaries;
  for (const auto& c : r.candidates) {
    const auto& ran = status[c.index];
    if (ran.error) continue;
    if (const auto s = parse_status(ran.records); s.up && !s.recovery) primaries.push_back(&c);
  }
  if (primaries.size() != 1) {
    std::string names;
    for (const auto* p : primaries) names += (names.empty() ? "" : ", ") + p->name;
    throw Error(primaries.empty()
                    ? fmt::format("no other server of the PostgreSQL primary and its replicas accepts writes: {} has "
                                  "nothing to stream from; nothing was changed",
                                  r.member.name)
                    : fmt::format("{} all accept writes: berth cannot tell which is the primary; nothing was changed",
                                  names),
                ExitCode::failure, "`berth health` shows each server's side of the replication");
  }
  Rejoined out{*primaries.front(), {}};
  say(progress, r.member.name, fmt::format("rejoining as a replica of {} (pg_rewind, or a fresh copy)", out.primary.name));
  const auto ran = run_one(hosts, r.member.index, rejoin_script({r.version, out.primary.address, r.member.name}),
                           "the rejoin");
  if (ran.error) throw *ran.error;
  for (const auto& rec : ran.records) {
    if (rec.subject == "rejoin" && rec.field == "method") out.method = util::trim(rec.value);
  }
  out.warnings = record(hosts, r.record_on, r.record_path, out.primary.name);
  return out;
}

}  // namespace berth::db
