#include <core/error.hpp>
#include <core/jobs/jobs.hpp>
#include <core/util/embedded.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

#include <charconv>

namespace berth::jobs {

namespace {

// `text` as an int, or `fallback` when it is not one.
template <class Int> Int to_int(std::string_view text, Int fallback) {
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() ? value : fallback;
}

// The next space-separated word of `text`, removed from it.
std::string_view next_word(std::string_view& text) {
  const auto space = text.find(' ');
  const auto word = text.substr(0, space);
  text.remove_prefix(space == std::string_view::npos ? text.size() : space + 1);
  return word;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words)
    out += (out.empty() ? "" : ", ") + w;
  return out;
}

// One "timer.PROPERTY=VALUE" or "service.PROPERTY=VALUE" line of a job's record.
void parse_status_line(Status& s, std::string_view line) {
  const auto eq = line.find('=');
  if (eq == std::string_view::npos) return;
  const auto key = line.substr(0, eq);
  const auto value = line.substr(eq + 1);
  if (key == "timer.LoadState") s.installed = value == "loaded";
  if (key == "timer.UnitFileState") s.enabled = value == "enabled";
  if (key == "timer.NextElapseUSecRealtime") s.next_run = value;
  if (key == "timer.LastTriggerUSec" && s.last_start.empty()) s.last_start = value;
  if (key == "service.ActiveState") s.running = value == "activating" || value == "active";
  if (key == "service.Result") s.result = value;
  if (key == "service.ExecMainStatus") s.exit_status = to_int(value, 0);
  // The service's own start time (manual runs too) wins over the timer's last trigger.
  if (key == "service.ExecMainStartTimestamp" && !value.empty()) s.last_start = value;
  if (key == "service.ExecMainExitTimestamp") s.last_end = value;
}

}  // namespace

std::string unit_name(const manifest::Manifest& m, const manifest::Job& job) {
  return fmt::format("{}-job-{}", m.app.name, job.name);
}

const manifest::Job& find_job(const manifest::Manifest& m, std::string_view name) {
  std::vector<std::string> names;
  for (const auto& job : m.jobs) {
    if (job.name == name) return job;
    names.push_back(job.name);
  }
  throw Error(fmt::format("no job '{}' in the manifest", name), ExitCode::usage,
              names.empty() ? "the manifest has no [[jobs]]"
                            : fmt::format("its jobs: {}", join(names)));
}

std::string status_script(const std::vector<std::string>& units) {
  // One `systemctl show -p P --value` per property: with --value the lines carry no
  // names, and a missing property still prints an empty line, so the order is known.
  std::string script(util::embedded("core/sh/jobs.sh"));
  for (const auto& unit : units) {
    const auto q = util::shell_quote(unit);
    script += fmt::format(
        "rec {0} job \"$(show timer {0}.timer LoadState UnitFileState NextElapseUSecRealtime "
        "LastTriggerUSec; show service {0}.service LoadState ActiveState Result ExecMainStatus "
        "ExecMainStartTimestamp ExecMainExitTimestamp)\"\n",
        q);
  }
  return script;
}

std::string Status::outcome() const {
  if (running) return "running";
  if (last_start.empty()) return "never";
  if (result == "success" && exit_status == 0) return "success";
  return fmt::format("failed ({}, status {})", result.empty() ? "unknown" : result, exit_status);
}

std::vector<Status> parse_status(const std::vector<util::Record>& records) {
  std::vector<Status> out;
  for (const auto& r : records) {
    if (r.field != "job") continue;
    out.push_back(Status{.unit = r.subject});
    for (const auto line : util::lines(r.value)) parse_status_line(out.back(), line);
  }
  return out;
}


std::string run_script(const std::string& unit) {
  return fmt::format(R"sh(unit={}.service
if [ "$(systemctl show -p LoadState --value "$unit")" != loaded ]; then
  rec run missing yes
  exit 0
fi
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
since=$(date +%s.%6N)
t0=$(date +%s%3N)
errors=$(systemctl start "$unit" 2>&1)
status=$?
t1=$(date +%s%3N)
rec run start "$status $((t1 - t0))"
rec run errors "$errors"
rec run result "$(systemctl show -p Result --value "$unit") $(systemctl show -p ExecMainStatus --value "$unit")"
# ConditionPathExists= unmet (no release yet): systemctl start returns 0, nothing ran.
rec run condition "$(systemctl show -p ConditionResult --value "$unit")"
rec run started "$started"
# The run's stdout reaches journald over a stream socket: --sync returns once journald
# has read what was queued. The lines of a process that exited before journald read
# them lack _SYSTEMD_INVOCATION_ID, so match the unit (its own lines, not PID 1's
# messages about it) since the start instead.
journalctl --sync >/dev/null 2>&1 || true
rec run output "$(journalctl -q --no-pager -o cat --since "@$since" "_SYSTEMD_UNIT=$unit")"
)sh",
                     util::shell_quote(unit));
}

bool Run::ok() const {
  return !missing && !skipped && start_status == 0 && result == "success" && exit_status == 0;
}

Run parse_run(const std::vector<util::Record>& records) {
  Run run;
  const auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    for (const auto line : util::lines(text)) out.emplace_back(line);
    return out;
  };
  for (const auto& r : records) {
    if (r.subject != "run") continue;
    std::string_view value = r.value;
    if (r.field == "missing") run.missing = true;
    if (r.field == "errors") run.errors = lines(r.value);
    if (r.field == "output") run.output = lines(r.value);
    if (r.field == "started") run.started = r.value;
    if (r.field == "condition") run.skipped = r.value == "no";
    if (r.field == "start") {
      run.start_status = to_int(next_word(value), -1);
      run.elapsed_ms = to_int(next_word(value), 0LL);
    }
    if (r.field == "result") {
      run.result = next_word(value);
      run.exit_status = to_int(next_word(value), -1);
    }
  }
  return run;
}

std::vector<std::size_t> hosts_to_run(const manifest::Job& job,
                                      const std::vector<std::string>& hosts,
                                      const std::vector<Status>& statuses) {
  std::vector<std::size_t> enabled;
  std::vector<std::string> enabled_names, missing, disabled;
  for (std::size_t i = 0; i < hosts.size() && i < statuses.size(); ++i) {
    if (!statuses[i].installed) {
      missing.push_back(hosts[i]);
    } else if (statuses[i].enabled) {
      enabled.push_back(i);
      enabled_names.push_back(hosts[i]);
    } else {
      disabled.push_back(hosts[i]);
    }
  }
  const auto setup_hint = std::string("run `berth setup` to install the job's units and timers");
  // "not installed on a; timer disabled on b"
  const auto problems = [&] {
    std::string what;
    if (!missing.empty()) what = fmt::format("not installed on {}", join(missing));
    if (!disabled.empty()) {
      what += fmt::format("{}timer disabled on {}", what.empty() ? "" : "; ", join(disabled));
    }
    return what;
  };
  if (job.run_on == manifest::RunOn::all) {
    if (!missing.empty() || !disabled.empty()) {
      throw Error(fmt::format("job {} runs on every {} host (run_on = \"all\") but: {}", job.name,
                              job.role, problems()),
                  ExitCode::failure, setup_hint);
    }
    return enabled;
  }
  if (enabled.size() == 1) return enabled;
  if (enabled.empty()) {
    throw Error(fmt::format("job {} is enabled on no host: {}", job.name,
                            hosts.empty() ? "no host selected" : problems()),
                ExitCode::failure, setup_hint);
  }
  throw Error(
      fmt::format("job {} runs on one host (run_on = \"one\") but its timer is enabled on {}",
                  job.name, join(enabled_names)),
      ExitCode::failure,
      "run `berth setup` to leave it on the primary app server only, or pick one with --hosts");
}

}  // namespace berth::jobs
