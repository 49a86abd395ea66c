#include <core/converge/apply.hpp>
#include <core/converge/probe.hpp>
#include <core/util/embedded.hpp>
#include <core/util/hash.hpp>
#include <core/util/overloaded.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace berth::converge {

using util::shell_quote;
namespace {

// After the transport's frame prelude (`rec`: core/remote.hpp). Steps report with
// records "ID step begin|ok|unchanged|failed RC"; what their commands print goes to
// stderr. A step whose change has handlers first records them as owed (one empty
// file each under /var/lib/berth/owed), and a handler clears its record once it
// succeeded: a run cut off in between leaves the record, which the next probe reads.
const std::string_view apply_prelude = util::embedded("core/sh/apply.sh");

std::string base64(std::string_view data) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4 + data.size() / 57 + 1);
  std::size_t line = 0;
  for (std::size_t i = 0; i < data.size(); i += 3) {
    const auto b0 = static_cast<unsigned char>(data[i]);
    const auto b1 = i + 1 < data.size() ? static_cast<unsigned char>(data[i + 1]) : 0u;
    const auto b2 = i + 2 < data.size() ? static_cast<unsigned char>(data[i + 2]) : 0u;
    out += table[b0 >> 2];
    out += table[((b0 & 3) << 4) | (b1 >> 4)];
    out += i + 1 < data.size() ? table[((b1 & 15) << 2) | (b2 >> 6)] : '=';
    out += i + 2 < data.size() ? table[b2 & 63] : '=';
    if (++line == 19) {  // 76 characters a line, as base64(1) writes
      out += '\n';
      line = 0;
    }
  }
  if (out.empty() || out.back() != '\n') out += '\n';
  return out;
}

}  // namespace

std::string owed_record(std::string_view handler) { return fmt::format("{}/{}", owed_dir, handler); }

bool is_deferred(std::string_view handler) { return handler.starts_with(release_handler_prefix); }

std::string validation_backup(std::string_view path) {
  return "/var/lib/berth/prev/" + util::sha256_hex(path).substr(0, 16);
}

std::string guard_test(const Command& c) {
  std::string test;
  if (!c.creates.empty()) test = fmt::format("[ -e {} ]", shell_quote(c.creates));
  if (!c.unless.empty()) {
    if (!test.empty()) test += " || ";
    test += fmt::format("( {} ) >/dev/null 2>&1", c.unless);
  }
  return test.empty() ? "false" : test;
}

namespace {

// The body of one step's function: commands that `return` on failure.
std::string step_body(const Resource& resource, const Change& change) {
  return std::visit(
      util::Overloaded{
          [&](const Package&) -> std::string { return {}; },  // batched per stage
          [&](const File& f) {
            return fmt::format("put_file {} {} {} {} {} {} {} <<'@@berth-b64'\n{}@@berth-b64\n",
                               shell_quote(f.path), shell_quote(f.owner), shell_quote(f.group),
                               f.mode, f.overwrite == Overwrite::yes ? "yes" : "no",
                               shell_quote(f.validate), validation_backup(f.path), base64(f.content));
          },
          [&](const Directory& d) {
            const auto p = shell_quote(d.path);
            return fmt::format(
                "if [ -e {0} ] && [ ! -d {0} ]; then echo \"{1} exists and is not a directory\"; "
                "return 1; fi\nmkdir -p {0} && chown {2}:{3} {0} && chmod {4} {0}\n",
                p, d.path, shell_quote(d.owner), shell_quote(d.group), d.mode);
          },
          [&](const Symlink& s) {
            const auto p = shell_quote(s.path);
            return fmt::format(
                "if [ -e {0} ] && [ ! -L {0} ]; then echo \"{1} exists and is not a symlink\"; "
                "return 1; fi\nln -sfn {2} {0}.berth-new && mv -fT {0}.berth-new {0}\n",
                p, s.path, shell_quote(s.target));
          },
          [&](const Group& g) {
            return fmt::format("groupadd {} {}\n", g.system ? "--system" : "", shell_quote(g.name));
          },
          [&](const User& u) {
            std::string groups;
            for (const auto& g : u.groups) groups += (groups.empty() ? "" : ",") + g;
            if (change.action == Action::create) {
              return fmt::format("useradd {} {} --shell {} {} {} {}\n", u.system ? "--system" : "",
                                 u.group.empty() ? "" : "--gid " + shell_quote(u.group),
                                 shell_quote(u.shell),
                                 u.home.empty() ? std::string("--create-home")
                                                : "--create-home --home-dir " + shell_quote(u.home),
                                 groups.empty() ? "" : "--groups " + shell_quote(groups),
                                 shell_quote(u.name));
            }
            return fmt::format("usermod --shell {} {} {} {}\n", shell_quote(u.shell),
                               u.home.empty() ? "" : "--home " + shell_quote(u.home),
                               groups.empty() ? "" : "--append --groups " + shell_quote(groups),
                               shell_quote(u.name));
          },
          [&](const Unit& u) {
            const auto n = shell_quote(u.name);
            std::string body;
            // A package's install may have enabled it since the probe (nginx, PostgreSQL,
            // fail2ban on a fresh server): enabling a unit with a SysV script again costs
            // a run of systemd-sysv-install, most of a second. No daemon-reload: systemd
            // reads the unit files at the daemon-reload handler of the config stage, and
            // an enable only adds links (systemd reports the new state at once).
            body += u.enabled ? fmt::format("[ \"$(systemctl is-enabled {0} 2>/dev/null)\" = enabled ] || "
                                            "systemctl enable --no-reload {0} || return\n",
                                            n)
                              : fmt::format("systemctl disable --no-reload {} || return\n", n);
            body += u.active ? fmt::format("systemctl start {}\n", n)
                             : fmt::format("systemctl stop {}\n", n);
            return body;
          },
          [&](const Command& c) {
            // The guard is checked again: an earlier stage may have met it.
            return fmt::format("if {}; then unchanged; return 0; fi\n( {}\n)\n", guard_test(c), c.run);
          },
      },
      resource.spec);
}

// A daemon that executes itself anew on SIGHUP (sshd) closes its listening sockets
// and opens new ones a few milliseconds later: a connection in between is refused,
// e.g. the user's `ssh` or the next berth command right after this run. So after the
// reload, wait until the main process listens again on as many sockets as before,
// none of them the old ones. Sockets that systemd holds (socket activation) stay open
// across the reload: nothing to wait for then, nor when no listening socket is seen.
std::string reexec_body(const std::string& name) {
  return fmt::format(
      R"sh(if ! systemctl is-active -q {0}; then return 0; fi
if [ -n "$(systemctl show -p TriggeredBy --value {0})" ]; then systemctl reload {0}; return; fi
# The main process keeps its PID when it executes itself anew.
pid=$(systemctl show -p MainPID --value {0})
tables=/proc/net/tcp; [ -r /proc/net/tcp6 ] && tables="$tables /proc/net/tcp6"
listeners() {{
  for fd in /proc/"$pid"/fd/*; do readlink "$fd"; done 2>/dev/null |
    sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' |
    awk 'NR == FNR {{ mine[$1]; next }} FNR > 1 && $4 == "0A" && ($10 in mine) {{ print $10 }}' - $tables | sort
}}
before=$(listeners)
systemctl reload {0} || return
[ -n "$before" ] || return 0
count=$(printf '%s\n' "$before" | wc -l)
end=$(($(date +%s) + 10))
while :; do
  now=$(listeners)
  if [ -n "$now" ] && [ "$(printf '%s\n' "$now" | wc -l)" -ge "$count" ] &&
    ! printf '%s\n' "$now" | grep -qxF -e "$before"; then return 0; fi
  if [ "$(date +%s)" -ge "$end" ]; then echo "{1} does not listen again 10 s after its reload"; return 1; fi
  sleep 0.05
done
)sh",
      shell_quote(name), name);
}

std::string handler_body(const std::string& handler) {
  if (handler == "daemon-reload") return "systemctl daemon-reload\n";
  if (handler.starts_with("reload:")) {
    const auto unit = shell_quote(handler.substr(7));
    return fmt::format("if systemctl is-active -q {0}; then systemctl reload {0}; fi\n", unit);
  }
  if (handler.starts_with("reexec:")) return reexec_body(handler.substr(7));
  if (handler.starts_with("restart:")) {
    return fmt::format("systemctl try-restart {}\n", shell_quote(handler.substr(8)));
  }
  return fmt::format("echo 'unknown handler {}'; return 1\n", handler);
}

// The line a step starts with when its change has handlers: they are owed from now.
std::string owe_line(const std::vector<std::string>& notify) {
  if (notify.empty()) return {};
  std::string line = "owe";
  for (const auto& h : notify) line += " " + shell_quote(h);
  return line + " || return\n";
}

std::string function_name(std::string_view id) {
  std::string name = "s_";
  for (char c : id) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

}  // namespace

std::vector<std::string> triggered_handlers(Stage stage, const std::vector<Resource>& resources,
                                            const std::vector<Change>& changes,
                                            const std::vector<std::string>& owed) {
  std::vector<std::string> handlers;
  const auto add = [&](const std::string& h) {
    if (std::find(handlers.begin(), handlers.end(), h) == handlers.end()) handlers.push_back(h);
  };
  for (const auto& change : changes) {
    const auto& r = resources[change.index];
    if (change.action == Action::none || r.stage != stage) continue;
    for (const auto& h : r.notify) add(h);
  }
  for (const auto& h : owed) add(h);
  std::stable_partition(handlers.begin(), handlers.end(),
                        [](const std::string& h) { return h == "daemon-reload"; });
  return handlers;
}

bool known_handler(std::string_view handler) {
  const auto unit = [&](std::string_view kind) {
    if (!handler.starts_with(kind) || handler.size() == kind.size()) return false;
    return std::all_of(handler.begin() + static_cast<std::ptrdiff_t>(kind.size()), handler.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("@._-:\\").find(c) != std::string_view::npos;
    });
  };
  return handler == "daemon-reload" || unit("reload:") || unit("restart:") || unit("reexec:") ||
         unit(release_handler_prefix);
}

std::string render_apply(Stage stage, const std::vector<Resource>& resources,
                         const std::vector<Change>& changes, const std::vector<std::string>& owed,
                         const std::map<std::string, std::string>& scripts) {
  std::string functions, before_packages, calls;
  std::vector<std::string> packages, packages_notify;
  std::size_t first_package = 0;
  for (const auto& change : changes) {
    const auto& r = resources[change.index];
    if (change.action == Action::none || r.stage != stage) continue;
    if (const auto* p = std::get_if<Package>(&r.spec)) {
      if (packages.empty()) first_package = change.index;
      packages.push_back(shell_quote(p->name));
      packages_notify.insert(packages_notify.end(), r.notify.begin(), r.notify.end());
      continue;
    }
    const auto id = std::to_string(change.index);
    functions += fmt::format("{}() {{\n{}{}}}\n", function_name(id), owe_line(r.notify),
                             step_body(r, change));
    (r.before_packages ? before_packages : calls) += fmt::format("run_step {} {}\n", id, function_name(id));
  }
  if (!packages.empty()) {
    // One apt-get call for every missing package; wait for boot-time package jobs
    // (cloud-init, unattended-upgrades hold the dpkg lock on a fresh VPS).
    std::string list;
    for (const auto& p : packages) list += " " + p;
    functions += fmt::format(
        "s_packages() {{\n{1}"
        "if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1; fi\n"
        "apt_opts='{2}'\n"
        "if [ -z \"$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mmin -1440 | head -n 1)\" ]; then\n"
        "  apt-get $apt_opts update || return\n"
        "fi\n"
        "apt-get $apt_opts install --no-install-recommends{0} && return\n"
        "apt-get $apt_opts update && apt-get $apt_opts install --no-install-recommends{0}\n"
        "}}\n",
        list, owe_line(packages_notify), apt_get_options);
    calls = fmt::format("run_step {} s_packages\n", first_package) + calls;
  }
  calls = before_packages + calls;
  auto handlers = triggered_handlers(stage, resources, changes, owed);
  std::erase_if(handlers, [](const std::string& h) { return is_deferred(h); });
  if (calls.empty() && handlers.empty()) return {};
  for (const auto& h : handlers) {
    const auto id = "h:" + h;
    const auto fn = function_name(id);
    const auto custom = scripts.find(h);
    functions += fmt::format("{0}_run() {{\n{1}}}\n{0}() {{\n{0}_run || return; paid {2}\n}}\n", fn,
                             custom != scripts.end() ? custom->second : handler_body(h), shell_quote(h));
    calls += fmt::format("run_step {} {}\n", shell_quote(id), fn);
  }
  return fmt::format("owed={}\n", owed_dir) + std::string(apply_prelude) + functions + calls + "rec_end\n";
}

ApplyReport parse_apply(const std::vector<util::Record>& records) {
  ApplyReport report;
  for (const auto& r : records) note_step(report, r);
  return report;
}

void note_step(ApplyReport& report, const util::Record& record) {
  if (record.field != "step") return;
  const auto& id = record.subject;
  const std::string_view what = record.value;
  if (what == "begin") {
    report.steps[id] = StepStatus::begun;
  } else if (what == "unchanged") {
    report.steps[id] = StepStatus::unchanged;
  } else if (what == "ok") {
    if (report.steps[id] != StepStatus::unchanged) report.steps[id] = StepStatus::ok;
  } else if (what.starts_with("failed")) {
    report.steps[id] = StepStatus::failed;
    report.failed_step = id;
    const auto code = what.substr(what.find(' ') + 1);
    std::from_chars(code.data(), code.data() + code.size(), report.failed_exit_code);
  }
}

}  // namespace berth::converge
