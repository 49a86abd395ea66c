#include <core/converge/apply.hpp>
#include <core/deploy/scripts.hpp>
#include <core/util/duration.hpp>
#include <core/util/text.hpp>
#include <core/layout/layout.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cstdio>

namespace berth::deploy {

using util::shell_quote;

namespace {

// The record of an nginx reload owed by a run cut off after it changed a file
// (converge/apply.hpp keeps these records; the converge engine runs what they owe).
const std::string owed_nginx_reload = converge::owed_record("reload:nginx.service");

// The record of the app's owed restart (converge/apply.hpp: release:APP).
std::string owed_release(const manifest::Manifest& m) {
  return converge::owed_record(std::string(converge::release_handler_prefix) + m.app.name);
}

std::string lock_dir(const manifest::Manifest& m) { return "/var/lib/berth/" + m.app.name + "/lock"; }

// The release an unfinished rollback is taking the app to (choose writes it, finalize
// removes it): the rerun of an interrupted rollback finishes it instead of going one
// release further back.
std::string rollback_file(const manifest::Manifest& m) { return "/var/lib/berth/" + m.app.name + "/rollback"; }

// Held (flock) by the script of a release step while it runs.
std::string steps_lock(const manifest::Manifest& m) { return "/var/lib/berth/" + m.app.name + "/steps.lock"; }

std::string ports_list(const std::vector<int>& ports) {
  std::string out;
  for (int p : ports) out += (out.empty() ? "" : " ") + std::to_string(p);
  return out;
}

std::string units(const manifest::Manifest& m, const std::vector<int>& ports) {
  std::string out;
  for (int p : ports) out += fmt::format("{}{}@{}.service", out.empty() ? "" : " ", m.app.name, p);
  return out;
}

// Shell lines reporting the records "state live blue|green" (from the upstream file)
// and "state current ID". A reload of nginx that an interrupted switch owes runs
// first, so that the upstream file is what nginx serves when the colors are decided.
std::string read_state(const manifest::Manifest& m, bool start_live) {
  return fmt::format(
      "if [ -e {2} ] && nginx -t >/dev/null 2>&1; then\n{3}rm -f {2}\nfi\n"
      "{4}{0}"
      "current=$(readlink {1}/current 2>/dev/null | sed 's|.*/||')\n"
      "rec state live \"$live\"; rec state current \"$current\"\n"
      "if [ -f {5} ]; then rec state rollback \"$(cat {5})\"; fi\n"
      "if [ -e {6} ]; then rec state owed_restart yes; fi\n"
      "{7}",
      layout::read_live_color(m), shell_quote(layout::app_root(m)), owed_nginx_reload,
      layout::nginx_reload("exit 1"), start_live && m.proxy ? layout::start_stopped_live_units(m) : "",
      shell_quote(rollback_file(m)), shell_quote(owed_release(m)),
      // The token berth's checks through nginx carry (past maintenance and basic auth).
      m.proxy ? layout::record_check_token(m) : std::string());
}

// Shell functions: berth_session prints "PID STARTTIME" of the sshd process serving
// this script's connection (sshd-session on newer OpenSSH); session_alive PID
// STARTTIME tells whether it still runs. A lock records its holder's session: once the
// connection is gone (berth killed, the network cut) the lock is dead, whichever
// machine looks.
constexpr std::string_view session_functions = R"sh(berth_session() {
  s=$$
  while [ "$s" -gt 1 ]; do
    { read -r st < "/proc/$s/stat"; } 2>/dev/null || return 0
    c=${st#*(}; c=${c%)*}; st=${st##*) }
    set -- $st
    case $c in sshd|sshd-session) echo "$s ${20}"; return 0 ;; esac
    s=$2
  done
}
session_alive() {
  want=$2
  { read -r st < "/proc/$1/stat"; } 2>/dev/null || return 1
  st=${st##*) }
  set -- $st
  [ "${20}" = "$want" ]
}
# Whether the lock in $dir is held by a run whose connection is still up (a lock
# without a session, from an older berth, counts as held).
holder_alive() {
  hs=$(sed -n 's/^session=//p' "$dir/info" 2>/dev/null)
  [ -z "$hs" ] || session_alive $hs
}
)sh";

constexpr std::string_view probe_function = R"sh(probe() {
  body=$(mktemp)
  out=$(curl -s -o "$body" -w '%{http_code} %{time_total}' --max-time 5 "http://127.0.0.1:$1$2" 2>/dev/null) || out="0 0"
  code=${out% *}; secs=${out#* }
  ms=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 1000 }')
  rec "$1" probe "$code $ms"; rec_file "$1" body "$body"; rm -f "$body"
}
)sh";

}  // namespace

std::string lock_acquire_script(const manifest::Manifest& m, const LockInfo& me,
                                const std::string& break_token) {
  return std::string(session_functions) + fmt::format(
      "dir={0}\nnow=$(date +%s)\nmkdir -p \"$(dirname \"$dir\")\"\n"
      "if ! mkdir \"$dir\" 2>/dev/null; then\n"
      "  token=$(sed -n 's/^token=//p' \"$dir/info\" 2>/dev/null)\n"
      "  beat=$(sed -n 's/^heartbeat=//p' \"$dir/info\" 2>/dev/null); ttl=$(sed -n 's/^ttl=//p' \"$dir/info\" 2>/dev/null)\n"
      "  if [ -n \"$beat\" ] && [ $((now - beat)) -le \"${{ttl:-0}}\" ] && [ \"$token\" != {1} ] && holder_alive; then\n"
      "    rec lock info \"$(cat \"$dir/info\")\"; exit {2}\n"
      "  fi\n"
      "  rm -rf \"$dir\" && mkdir \"$dir\" || exit 1\n"
      "fi\n"
      "printf 'token=%s\\nowner=%s\\npid=%s\\ncommand=%s\\nstarted=%s\\nheartbeat=%s\\nttl=%s\\nsession=%s\\n' "
      "{3} {4} {5} {6} \"$now\" \"$now\" {7} \"$(berth_session)\" > \"$dir/info\"\n",
      shell_quote(lock_dir(m)), shell_quote(break_token.empty() ? "-" : break_token),
      lock_held_status, shell_quote(me.token), shell_quote(me.owner), shell_quote(me.pid),
      shell_quote(me.command), me.ttl);
}

std::string stale_lock_test_script(const manifest::Manifest& m) {
  return fmt::format("dir={}\n[ -f \"$dir/info\" ] || exit 0\n", shell_quote(lock_dir(m))) +
         std::string(session_functions) + "holder_alive\n";
}

std::string stale_lock_release_script(const manifest::Manifest& m) {
  return fmt::format("dir={}\n", shell_quote(lock_dir(m))) + std::string(session_functions) +
         "if [ -f \"$dir/info\" ] && ! holder_alive; then rm -rf \"$dir\"; fi\n";
}

std::string lock_fence_script(const manifest::Manifest& m, const std::string& token, const std::string& step) {
  return std::string(session_functions) + fmt::format(
      "lockdir={0}\n"
      "if ! grep -qx {1} \"$lockdir/info\" 2>/dev/null; then\n"
      "  echo 'this run no longer holds the deploy lock of {3} here (it was released or taken over by a later run)' >&2\n"
      "  exit 1\n"
      "fi\n"
      // The connection may be a new one (berth reconnects after losing one).
      "sed -i -e \"s/^heartbeat=.*/heartbeat=$(date +%s)/\" -e \"s/^session=.*/session=$(berth_session)/\" \"$lockdir/info\"\n"
      "printf '%s\\n' {2} > \"$lockdir/step\" || exit 1\n"
      "fence() {{\n"
      "  grep -qx {1} \"$lockdir/info\" 2>/dev/null && [ \"$(cat \"$lockdir/step\" 2>/dev/null)\" = {2} ] && return 0\n"
      "  echo 'a later step or run took over the deploy of {3} here: this script stops' >&2\n"
      "  exit 1\n"
      "}}\n"
      // One step's script at a time: a cut-off script still running finishes the
      // change it is making (or stops at its next fence) before this one looks.
      "exec 9>{4} && flock -w 120 9 || {{ echo 'a cut-off script of an earlier deploy step of {3} still runs here after 120 s' >&2; exit 1; }}\n"
      "fence\n",
      shell_quote(lock_dir(m)), shell_quote("token=" + token), shell_quote(step), m.app.name,
      shell_quote(steps_lock(m)));
}

std::string lock_release_script(const manifest::Manifest& m, const std::string& token) {
  if (token.empty()) return fmt::format("rm -rf {}\n", shell_quote(lock_dir(m)));
  return fmt::format("if grep -qx {1} {0}/info 2>/dev/null; then rm -rf {0}; fi\n",
                     shell_quote(lock_dir(m)), shell_quote("token=" + token));
}

std::string lock_status_script(const manifest::Manifest& m) {
  return std::string(session_functions) +
         fmt::format("dir={0}\nif [ -f {0}/info ]; then\n  rec lock info \"$(cat {0}/info)\"\n"
                     "  holder_alive || rec lock dead yes\nfi\ntrue\n",
                     shell_quote(lock_dir(m)));
}

std::vector<std::pair<std::string, std::string>> parse_pairs(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const auto line = text.substr(pos, eol - pos);
    pos = eol + 1;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return out;
}

LockInfo parse_lock_info(const std::vector<util::Record>& records) {
  LockInfo info;
  std::string text;
  for (const auto& r : records) {
    if (r.subject == "lock" && r.field == "info") text = r.value;
    if (r.subject == "lock" && r.field == "dead") info.dead = true;
  }
  auto number = [](const std::string& s) {
    long v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
  };
  for (const auto& [key, value] : parse_pairs(text)) {
    if (key == "token") info.token = value;
    if (key == "owner") info.owner = value;
    if (key == "pid") info.pid = value;
    if (key == "command") info.command = value;
    if (key == "started") info.started = number(value);
    if (key == "heartbeat") info.heartbeat = number(value);
    if (key == "ttl") info.ttl = number(value);
  }
  return info;
}

namespace {

// The runtime's own preparation of a release, as the app user, before the release is
// marked complete: for python, a virtualenv in .venv with requirements.txt installed.
std::string runtime_setup(const manifest::Manifest& m) {
  if (m.app.run.runtime != "python") return {};
  return fmt::format(
      "if ! out=$(cd \"$rel\" && runuser -u {0} -- sh -c 'python3 -m venv .venv && "
      "if [ -f requirements.txt ]; then .venv/bin/pip install --disable-pip-version-check -q -r "
      "requirements.txt; fi' 2>&1); then\n"
      "  printf 'the python virtualenv of the release could not be made:\\n%s\\n' \"$out\" >&2; exit 1\n"
      "fi\n",
      shell_quote(m.app.name));
}

// The record "state node VERSION" (what `node --version` prints; empty without node)
// for runtime node: the deploy compares it with package.json's engines.node.
std::string node_version(const manifest::Manifest& m) {
  if (m.app.run.runtime != "node") return {};
  return "rec state node \"$(node --version 2>/dev/null)\"\n";
}

}  // namespace

std::string prepare_script(const manifest::Manifest& m, const std::string& release) {
  const auto root = layout::app_root(m);
  return fmt::format(
      "rel={0}/releases/{1}\n"
      // What an upload cut short left behind (never marked complete) goes first.
      "for d in {0}/releases/*; do\n"
      "  [ -d \"$d\" ] && [ \"$d\" != \"$rel\" ] && [ ! -f \"$d/.berth-release\" ] && rm -rf -- \"$d\"\n"
      "done\n"
      "for entry in {0}/shared/* {0}/shared/.[!.]*; do\n"
      "  [ -e \"$entry\" ] || continue\n"
      "  name=$(basename \"$entry\"); [ -e \"$rel/$name\" ] || ln -s \"$entry\" \"$rel/$name\"\n"
      "done\n"
      "chown -R {2}:{2} \"$rel\" || exit 1\n{4}"
      "touch \"$rel/.berth-release\" || exit 1\n{3}{5}",
      shell_quote(root), release, shell_quote(m.app.name), read_state(m, true), runtime_setup(m),
      node_version(m));
}

std::string state_script(const manifest::Manifest& m, bool start_live) {
  return read_state(m, start_live) +
         fmt::format("for r in $(ls -1r {0}/releases 2>/dev/null); do\n"
                     "  [ -f {0}/releases/\"$r\"/.berth-release ] && rec state release \"$r\"\n"
                     "  [ -f {0}/releases/\"$r\"/.berth-served ] && rec state served \"$r\"\n"
                     "done\ntrue\n",
                     shell_quote(layout::app_root(m)));
}

std::string migrate_script(const manifest::Manifest& m, const std::string& release,
                           const std::string& command) {
  const auto path = layout::runtime_path(m, layout::app_root(m) + "/releases/" + release);
  return fmt::format(
      "exec systemd-run --quiet --wait --pipe --collect --unit={0}-migrate-$$ "
      "-p User={0} -p Group={0} -p EnvironmentFile={1} -p WorkingDirectory={2}/releases/{3} {5}"
      "/bin/sh -c {4} < /dev/null 2>&1\n",
      m.app.name, shell_quote(layout::env_file(m)), shell_quote(layout::app_root(m)),
      release, shell_quote(command), path.empty() ? "" : "-p " + shell_quote("Environment=PATH=" + path) + " ");
}

std::string start_script(const manifest::Manifest& m, const std::string& release,
                         const std::vector<int>& ports, const std::string& path,
                         std::chrono::seconds wait) {
  const auto root = layout::app_root(m);
  std::string script(probe_function);
  script += fmt::format(
      "fence\n"
      "for p in {0}; do\n"
      "  ln -sfn {1}/releases/{2} {1}/instances/$p.new && mv -fT {1}/instances/$p.new {1}/instances/$p || exit 1\n"
      "done\n"
      // One systemctl for every instance: they start side by side.
      "systemctl restart {6} || exit 1\n"
      "deadline=$(( $(date +%s) + {4} ))\n"
      "for p in {0}; do\n"
      "  until curl -s -o /dev/null --max-time 2 \"http://127.0.0.1:$p/\"; do\n"
      "    [ \"$(date +%s)\" -ge \"$deadline\" ] && break\n"
      "    fence; sleep 0.05\n"
      "  done\n"
      "  probe $p {5}\n"
      "done\n",
      ports_list(ports), shell_quote(root), release, m.app.name, wait.count(), shell_quote(path), units(m, ports));
  return script;
}

std::string probe_script(const std::vector<int>& ports, const std::string& path) {
  return std::string(probe_function) +
         fmt::format("for p in {}; do probe $p {}; done\n", ports_list(ports), shell_quote(path));
}

std::string upstream_script(const std::vector<std::pair<std::string, std::string>>& files, bool nginx) {
  // Each new file next to the old one; only the ones that differ change. No `exit 0`:
  // a switch back runs more after this.
  std::string script = "changed=\n";
  for (std::size_t i = 0; i < files.size(); ++i) {
    script += fmt::format(
        "f{0}={1}; mkdir -p \"$(dirname \"$f{0}\")\" || exit 1\n"
        "tmp{0}=$(mktemp \"$f{0}.XXXXXX\") && cat > \"$tmp{0}\" <<'@@berth-upstream' || exit 1\n{2}@@berth-upstream\n"
        "if cmp -s \"$tmp{0}\" \"$f{0}\"; then rm -f \"$tmp{0}\"; tmp{0}=; else changed=1; fi\n",
        i, shell_quote(files[i].first), files[i].second);
  }
  script += "if [ -n \"$changed\" ]; then\n";
  if (nginx) {
    // From the new files in place until nginx has reloaded, the reload is owed
    // (converge/apply.hpp): a run cut off in between leaves it for the next one.
    script += fmt::format("owed=; [ -e {0} ] && owed=1\nmkdir -p {1} && : > {0} || exit 1\n", owed_nginx_reload,
                          converge::owed_dir);
  }
  script += "fence\n";
  for (std::size_t i = 0; i < files.size(); ++i) {
    script += fmt::format(
        "if [ -n \"$tmp{0}\" ]; then\n"
        "  rm -f \"$f{0}.prev\"; cp -p \"$f{0}\" \"$f{0}.prev\" 2>/dev/null\n"
        "  chmod 0644 \"$tmp{0}\" && mv -f \"$tmp{0}\" \"$f{0}\" || exit 1\n"
        "fi\n",
        i);
  }
  if (nginx) {
    script += "if ! out=$(nginx -t 2>&1); then\n";
    for (std::size_t i = 0; i < files.size(); ++i) {
      script += fmt::format("  if [ -n \"$tmp{0}\" ]; then\n"
                            "    if [ -f \"$f{0}.prev\" ]; then mv -f \"$f{0}.prev\" \"$f{0}\"; else rm -f \"$f{0}\"; fi\n"
                            "  fi\n",
                            i);
    }
    // Every request after this script, the gate's included, reaches the new instances.
    script += fmt::format(
        "  [ -n \"$owed\" ] || rm -f {0}\n"
        "  printf 'nginx -t failed; the previous upstream was kept\\n%s\\n' \"$out\" >&2; exit 1\n"
        "fi\n"
        "fence\n{1}"
        "rm -f {0}\n",
        owed_nginx_reload, layout::nginx_reload("exit 1"));
  }
  for (std::size_t i = 0; i < files.size(); ++i) script += fmt::format("rm -f \"$f{0}.prev\"\n", i);
  return script + "fi\n";
}

std::string finalize_script(const manifest::Manifest& m, const std::string& release,
                            const std::vector<int>& new_ports, const std::vector<int>& old_ports,
                            std::chrono::milliseconds drain) {
  const auto root = layout::app_root(m);
  return fmt::format(
      "fence\nln -sfn {0}/releases/{1} {0}/current.new && mv -fT {0}/current.new {0}/current || exit 1\n"
      "touch {0}/releases/{1}/.berth-served\n"
      // The live instances started with the configuration of their start: an owed
      // restart recorded before that is done (one recorded since is not).
      "if [ -e {6} ] && [ ! {6} -nt {0}/instances ]; then rm -f {6}; fi\n"
      "systemctl enable --quiet --no-reload {2} || exit 1\n"
      "{4}"
      // A script cut off from its run stops here once a later step took over (that
      // step may have switched back to the old instances).
      "fence\n"
      "systemctl disable --quiet --no-reload --now {3} 2>/dev/null\n"
      "cd {0}/releases || exit 1\n"
      "ls -1r | tail -n +{5} | while read -r old; do\n"
      "  [ \"$old\" = {1} ] && continue\n"
      "  in_use=no\n"
      "  for link in {0}/instances/*; do [ \"$(readlink \"$link\")\" = \"{0}/releases/$old\" ] && in_use=yes; done\n"
      "  [ $in_use = no ] && rm -rf -- \"$old\"\n"
      "done\nrm -f {7}\n",
      shell_quote(root), release, units(m, new_ports), units(m, old_ports), drain_wait_script(old_ports, drain),
      m.app.keep_releases + 1, shell_quote(owed_release(m)), shell_quote(rollback_file(m)));
}

std::string drain_wait_script(const std::vector<int>& ports, std::chrono::milliseconds drain) {
  if (drain.count() <= 0) return {};
  // /proc/net/tcp* give local ports in hex; state 01 is ESTABLISHED.
  std::string hex;
  for (int p : ports) hex += fmt::format("{}{:04X}", hex.empty() ? "" : " ", p);
  return fmt::format(
      "draining() {{\n"
      "  grep -qa '{3}' /proc/[0-9]*/cmdline 2>/dev/null && return 0\n"
      "  [ -n {0} ] || return 1\n"
      "  awk -v ports={0} 'BEGIN {{ n = split(ports, p, \" \"); for (i = 1; i <= n; i++) want[p[i]] }}\n"
      "    FNR > 1 && $4 == \"01\" {{ split($2, l, \":\"); if (l[2] in want) {{ found = 1; exit }} }}\n"
      "    END {{ exit !found }}' /proc/net/tcp /proc/net/tcp6 2>/dev/null\n"
      "}}\n"
      "drain_end=$(( $(date +%s%3N) + {1} ))\n"
      "while draining; do\n"
      "  if [ \"$(date +%s%3N)\" -ge \"$drain_end\" ]; then\n"
      "    echo 'requests still in flight after the drain ({2}): stopping anyway' >&2; break\n"
      "  fi\n"
      "  sleep 0.05\n"
      "done\n",
      shell_quote(hex), drain.count(), util::format_duration(drain), layout::nginx_shutting_down);
}

std::string rollback_intent_script(const manifest::Manifest& m, const std::string& release) {
  return fmt::format("mkdir -p \"$(dirname {0})\" && printf '%s\\n' {1} > {0}\n", shell_quote(rollback_file(m)),
                     shell_quote(release));
}

std::string owe_restart_script(const manifest::Manifest& m) {
  return fmt::format("mkdir -p {} && : > {}\n", converge::owed_dir, shell_quote(owed_release(m)));
}

std::string clear_owed_restart_script(const manifest::Manifest& m) {
  return fmt::format("rm -f {}\n", shell_quote(owed_release(m)));
}

std::string serve_again_script(const manifest::Manifest& m, const std::string& release,
                               const std::vector<int>& ports, std::chrono::seconds wait) {
  const auto root = layout::app_root(m);
  std::string script;
  if (!release.empty()) {
    script += fmt::format(
        "if [ \"$(readlink {0}/current)\" != {0}/releases/{1} ] && [ -d {0}/releases/{1} ]; then\n"
        "  fence; ln -sfn {0}/releases/{1} {0}/current.new && mv -fT {0}/current.new {0}/current\n"
        "fi\n",
        shell_quote(root), release);
  }
  script += fmt::format(
      "deadline=$(( $(date +%s) + {2} ))\n"
      "for p in {0}; do\n"
      "  u={1}@$p.service\n"
      "  [ -e {3}/instances/$p ] || continue\n"
      "  systemctl is-active -q \"$u\" && continue\n"
      "  echo \"$u had stopped (a cut-off finalize stopped it): starting it again\" >&2\n"
      "  fence; systemctl enable --quiet --now \"$u\"\n"
      "  until curl -s -o /dev/null --max-time 2 \"http://127.0.0.1:$p/\"; do\n"
      "    [ \"$(date +%s)\" -ge \"$deadline\" ] && break\n"
      "    sleep 0.05\n"
      "  done\n"
      "done\n",
      ports_list(ports), m.app.name, wait.count(), shell_quote(root));
  return script;
}

std::string restart_in_place_script(const manifest::Manifest& m, const std::string& release,
                                    const std::vector<int>& ports, std::chrono::seconds wait) {
  return serve_again_script(m, release, {}, wait) + start_script(m, release, ports, "/", wait) +
         fmt::format("fence\nsystemctl enable --quiet {} || exit 1\n", units(m, ports));
}

std::string stop_script(const manifest::Manifest& m, const std::vector<int>& ports, int lines) {
  return fmt::format(
      "for u in {0}; do\n"
      "  journalctl --no-pager -o cat -n {1} -u \"$u\" 2>/dev/null | sed \"s|^|$u: |\"\n"
      "done\nfence\nsystemctl disable --quiet --now {0} 2>/dev/null\ntrue\n",
      units(m, ports), lines);
}

std::vector<InstanceProbe> parse_probes(const std::vector<util::Record>& records) {
  std::vector<InstanceProbe> probes;
  for (const auto& r : records) {
    int port = 0, status = 0;
    long ms = 0;
    if (r.field == "probe" && std::from_chars(r.subject.data(), r.subject.data() + r.subject.size(), port).ec == std::errc{} &&
        std::sscanf(r.value.c_str(), "%d %ld", &status, &ms) == 2) {
      probes.push_back({port, status, std::chrono::milliseconds(ms), {}});
    } else if (r.field == "body" && !probes.empty() && r.subject == std::to_string(probes.back().port)) {
      probes.back().body = r.value;
    }
  }
  return probes;
}

std::vector<std::pair<std::string, std::string>> state_records(const std::vector<util::Record>& records) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : records) {
    if (r.subject == "state") out.emplace_back(r.field, r.value);
  }
  return out;
}

}  // namespace berth::deploy
