// berth sandbox up/down/list: the life of local test hosts. See docs/sandbox.md.
#include <core/debian.hpp>
#include <core/util/text.hpp>
#include <core/sandbox/sandbox.hpp>
#include <core/sandbox/system.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace berth::sandbox {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

Paths Paths::from_environment() {
  Paths paths;
  if (const char* cache = std::getenv("BERTH_SANDBOX_CACHE"); cache && *cache) paths.cache = cache;
  if (const char* state = std::getenv("BERTH_SANDBOX_STATE"); state && *state) paths.state = state;
  return paths;
}

std::vector<StanzaHost> Sandbox::stanza_hosts() const {
  std::vector<StanzaHost> result;
  for (const auto& host : hosts) {
    result.push_back({host.server, host.address, identity_file.string(), known_hosts.string()});
  }
  return result;
}

namespace {

using util::trim;

constexpr std::string_view state_file = "state.json";
constexpr std::string_view ip_forward_path = "/proc/sys/net/ipv4/ip_forward";
// Each host's systemd takes inotify instances; the default 128 per user runs out at
// about 20 hosts ("Too many open files").
constexpr std::string_view inotify_path = "/proc/sys/fs/inotify/max_user_instances";
constexpr int inotify_wanted = 4096;
constexpr auto poll_interval = std::chrono::milliseconds(100);
constexpr std::string_view waiting_for_lock =
    "waiting for another `berth sandbox` run on this machine to finish";

void say(const Reporter& reporter, std::string_view line) {
  if (reporter.progress) reporter.progress(line);
}

// --- state file -------------------------------------------------------------

json to_json(const Sandbox& sandbox) {
  json hosts = json::array();
  for (const auto& host : sandbox.hosts) {
    hosts.push_back({{"index", host.index},
                     {"server", host.server},
                     {"machine", host.machine},
                     {"address", host.address},
                     {"veth", host.veth},
                     {"nspawn_pid", host.nspawn_pid},
                     {"status", host.status},
                     {"failed_units", host.failed_units},
                     {"boot_seconds", host.boot_seconds}});
  }
  return {{"name", sandbox.name},
          {"subnet", subnet_cidr(sandbox.subnet)},
          {"subnet_index", sandbox.subnet},
          {"gateway", host_address(sandbox.subnet, 0)},
          {"bridge", sandbox.bridge},
          {"cache_key", sandbox.cache_key},
          {"identity_file", sandbox.identity_file.string()},
          {"known_hosts", sandbox.known_hosts.string()},
          {"complete", sandbox.complete},
          {"hosts", hosts}};
}

Sandbox from_json(const json& doc, const fs::path& dir) {
  Sandbox sandbox;
  sandbox.name = doc.at("name").get<std::string>();
  sandbox.subnet = doc.at("subnet_index").get<int>();
  sandbox.bridge = doc.at("bridge").get<std::string>();
  sandbox.cache_key = doc.value("cache_key", "");
  sandbox.dir = dir;
  sandbox.identity_file = doc.at("identity_file").get<std::string>();
  sandbox.known_hosts = doc.at("known_hosts").get<std::string>();
  sandbox.complete = doc.value("complete", false);
  for (const auto& item : doc.at("hosts")) {
    Host host;
    host.index = item.at("index").get<int>();
    host.server = item.at("server").get<std::string>();
    host.machine = item.at("machine").get<std::string>();
    host.address = item.at("address").get<std::string>();
    host.veth = item.at("veth").get<std::string>();
    host.nspawn_pid = item.value("nspawn_pid", 0);
    host.status = item.value("status", "");
    host.failed_units = item.value("failed_units", std::vector<std::string>{});
    host.boot_seconds = item.value("boot_seconds", 0.0);
    sandbox.hosts.push_back(std::move(host));
  }
  return sandbox;
}

void save(const Sandbox& sandbox) {
  sys::write_file(sandbox.dir / state_file, to_json(sandbox).dump(2) + "\n", 0600);
}

std::optional<Sandbox> load(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / state_file, ec)) return std::nullopt;
  try {
    return from_json(json::parse(sys::read_file(dir / state_file)), dir);
  } catch (const std::exception&) {
    return std::nullopt;  // a torn or foreign file: the machine scan still finds the rest
  }
}

std::vector<std::string> sandbox_names(const Paths& paths) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(paths.state, ec)) {
    const auto name = entry.path().filename().string();
    if (entry.is_directory() && name_problem(name).empty()) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Whether the nspawn process `host` recorded is still the one running its machine.
bool host_alive(const Host& host) {
  if (!sys::process_alive(host.nspawn_pid)) return false;
  const auto info = sys::processes();
  return std::any_of(info.begin(), info.end(), [&](const sys::ProcessInfo& p) {
    return p.pid == host.nspawn_pid && sys::nspawn_machine(p) == host.machine;
  });
}


std::string log_tail(const fs::path& log, int lines = 15) {
  std::string text;
  try {
    text = sys::read_file(log);
  } catch (const Error&) {
    return "(no log)";
  }
  ProcessResult as_result;
  as_result.out = std::move(text);
  return as_result.tail(lines);
}

// --- this machine's network ----------------------------------------------------

// Subnets in use: by other sandboxes' state, and by any 198.18.0.0/15 address
// already on this machine (someone else's test network).
std::set<int> used_subnets(const Paths& paths) {
  std::set<int> used;
  for (const auto& name : sandbox_names(paths)) {
    if (auto sandbox = load(paths.state / name)) used.insert(sandbox->subnet);
  }
  auto addresses = run_process({"ip", "-4", "-o", "addr", "show"});
  if (addresses && addresses->ok()) {
    std::istringstream lines(addresses->out);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      for (std::string word; words >> word;) {
        if (auto subnet = subnet_of(word.substr(0, word.find('/')))) used.insert(*subnet);
      }
    }
  }
  return used;
}

// Writes a /proc/sys setting in place (files there cannot be replaced by rename).
void write_proc(std::string_view path, const std::string& value) {
  std::FILE* file = std::fopen(std::string(path).c_str(), "w");
  const bool ok = file && std::fputs(value.c_str(), file) >= 0;
  if (file && std::fclose(file) != 0) throw Error(fmt::format("cannot write {}", path));
  if (!ok) throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
}

// Forwarding and masquerade for 198.18.0.0/15, so apt inside reaches the mirror.
// The original ip_forward value is kept to be restored by the last `down`.
void enable_nat(const Paths& paths) {
  const fs::path saved = paths.state / "ip_forward.orig";
  std::error_code ec;
  if (!fs::exists(saved, ec)) sys::write_file(saved, sys::read_file(fs::path(ip_forward_path)));
  write_proc(ip_forward_path, "1\n");
  const fs::path inotify_saved = paths.state / "inotify.orig";
  const auto inotify_now = sys::read_file(fs::path(inotify_path));
  if (std::atoi(inotify_now.c_str()) < inotify_wanted) {
    if (!fs::exists(inotify_saved, ec)) sys::write_file(inotify_saved, inotify_now);
    write_proc(inotify_path, fmt::format("{}\n", inotify_wanted));
  }
  const std::string script =
      fmt::format("table ip {0}\n"
                  "delete table ip {0}\n"
                  "table ip {0} {{\n"
                  "  chain postrouting {{\n"
                  "    type nat hook postrouting priority srcnat; policy accept;\n"
                  "    ip saddr {1} ip daddr != {1} masquerade\n"
                  "  }}\n"
                  "  chain forward {{\n"
                  "    type filter hook forward priority filter; policy accept;\n"
                  "    ip saddr {1} accept\n"
                  "    ip daddr {1} ct state established,related accept\n"
                  "  }}\n"
                  "}}\n",
                  nft_table, address_range);
  ProcessOptions options;
  options.stdin_text = script;
  sys::run_checked({"nft", "-f", "-"}, fmt::format("create the nft table {}", nft_table), options);
}

void disable_nat(const Paths& paths) {
  if (sys::nft_table_exists(nft_table)) {
    sys::run_checked({"nft", "delete", "table", "ip", std::string(nft_table)},
                     fmt::format("delete the nft table {}", nft_table));
  }
  const fs::path saved = paths.state / "ip_forward.orig";
  std::error_code ec;
  if (fs::exists(saved, ec)) {
    write_proc(ip_forward_path, sys::read_file(saved));
    fs::remove(saved, ec);
  }
  const fs::path inotify_saved = paths.state / "inotify.orig";
  if (fs::exists(inotify_saved, ec)) {
    write_proc(inotify_path, sys::read_file(inotify_saved));
    fs::remove(inotify_saved, ec);
  }
}

void delete_link(const std::string& name) {
  if (!sys::link_exists(name)) return;
  auto result = run_process({"ip", "link", "del", name});
  if (sys::link_exists(name)) {
    throw Error(fmt::format("cannot delete network link {}: {}", name,
                            result ? result->tail() : std::string(result.error().what())),
                ExitCode::failure, "delete it by hand: ip link del " + name);
  }
}

void delete_netns(const std::string& name) {
  const auto names = sys::netns_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) return;
  sys::run_checked({"ip", "netns", "del", name}, "delete network namespace " + name);
}

// --- cgroups -----------------------------------------------------------------

// Where each host's container gets a cgroup of its own: "berth/<machine>" in the
// hierarchies systemd uses (name=systemd and unified on a v1 hybrid machine, the
// single tree on v2). Without this, nspawn --keep-unit puts every container under
// the caller's cgroup, so hosts share /payload/system.slice/ssh.service: one host
// stopping a unit kills the others' processes of that unit, and concurrent boots race
// (status=219/CGROUP).
std::vector<fs::path> cgroup_roots() {
  std::error_code ec;
  if (fs::exists("/sys/fs/cgroup/cgroup.controllers", ec)) return {"/sys/fs/cgroup/berth"};
  std::vector<fs::path> roots;
  for (const char* hierarchy : {"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"}) {
    if (fs::exists(fs::path(hierarchy) / "cgroup.procs", ec))
      roots.push_back(fs::path(hierarchy) / "berth");
  }
  return roots;
}

// SIGKILLs every process in cgroup `path` and below, until none is left (or 10 s
// passed). Reliable where following parent links is not: a container whose nspawn
// died early is re-parented to PID 1 but stays in its host's cgroup.
void kill_cgroup(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  for (auto deadline = Clock::now() + std::chrono::seconds(10); Clock::now() < deadline;) {
    bool any = false;
    std::vector<fs::path> files = {path / "cgroup.procs"};
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_directory(ec)) files.push_back(it->path() / "cgroup.procs");
    }
    for (const auto& file : files) {
      std::string procs;
      try {
        procs = sys::read_file(file);
      } catch (const Error&) {
        continue;  // removed meanwhile
      }
      std::istringstream pids(procs);
      for (int pid = 0; pids >> pid;) {
        any = true;
        ::kill(pid, SIGKILL);
      }
    }
    if (!any) return;
    std::this_thread::sleep_for(poll_interval);
  }
}

// Removes cgroup `path` and everything below it (rmdir, deepest first). Retries a
// little: the kernel empties a cgroup asynchronously after its last process exits.
void remove_cgroup(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  for (auto deadline = Clock::now() + std::chrono::seconds(3);;) {
    std::vector<fs::path> dirs;
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_directory(ec)) dirs.push_back(it->path());
    }
    std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
      return a.string().size() > b.string().size();
    });
    dirs.push_back(path);
    int error = 0;
    for (const auto& dir : dirs) {
      if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) error = errno;
    }
    if (error == 0) return;
    if (Clock::now() > deadline) {
      throw Error(fmt::format("cannot remove cgroup {}: {}", path.string(), std::strerror(error)),
                  ExitCode::failure, "see which processes are in it: cat " + path.string() +
                                         "/cgroup.procs");
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

// --- containers --------------------------------------------------------------

// Stops the nspawn processes `pids`: SIGKILL to each container's init ends every
// process of its PID namespace, then nspawn exits by itself (SIGKILL if it lingers).
void stop_containers(const std::vector<int>& pids) {
  if (pids.empty()) return;
  const std::set<int> nspawn(pids.begin(), pids.end());
  for (const auto& process : sys::processes()) {
    if (nspawn.contains(process.ppid)) ::kill(process.pid, SIGKILL);
  }
  auto all_gone = [&] {
    return std::none_of(pids.begin(), pids.end(), [](int pid) { return sys::process_alive(pid); });
  };
  // An nspawn started by an earlier berth run is a child of PID 1 once that run has
  // exited, so its zombie is reaped by PID 1, not by us; wait a little for that, so
  // that nothing of ours shows in `ps` afterwards (not an error when it is slow).
  auto wait_reaped = [&] {
    for (auto deadline = Clock::now() + std::chrono::seconds(5); Clock::now() < deadline;) {
      if (std::none_of(pids.begin(), pids.end(),
                       [](int pid) { return fs::exists(fmt::format("/proc/{}", pid)); })) {
        return;
      }
      std::this_thread::sleep_for(poll_interval);
    }
  };
  for (auto deadline = Clock::now() + std::chrono::seconds(10); Clock::now() < deadline;) {
    if (all_gone()) return wait_reaped();
    std::this_thread::sleep_for(poll_interval);
  }
  for (int pid : pids)
    ::kill(pid, SIGKILL);
  for (auto deadline = Clock::now() + std::chrono::seconds(5); Clock::now() < deadline;) {
    if (all_gone()) return wait_reaped();
    std::this_thread::sleep_for(poll_interval);
  }
  for (int pid : pids) {
    if (sys::process_alive(pid)) {
      throw Error(fmt::format("systemd-nspawn (pid {}) does not exit after SIGKILL", pid),
                  ExitCode::failure,
                  "look at it with: ps -o pid,stat,cmd -p " + std::to_string(pid));
    }
  }
}

// The nspawn processes whose machine `belongs` says is ours.
template <class Pred> std::vector<int> nspawn_pids(Pred belongs) {
  std::vector<int> pids;
  for (const auto& process : sys::processes()) {
    const auto machine = sys::nspawn_machine(process);
    if (!machine.empty() && belongs(machine)) pids.push_back(process.pid);
  }
  return pids;
}

// Removes sandbox `name` (the state lock is held by the caller).
void down_locked(const Paths& paths, std::string_view name, const Reporter& reporter) {
  const fs::path dir = paths.state / name;
  const auto state = load(dir);
  std::error_code ec;
  const bool exists = state || fs::exists(dir, ec);

  std::set<std::string> machines;
  if (state) {
    for (const auto& host : state->hosts)
      machines.insert(host.machine);
  }
  for (const auto& netns : sys::netns_names()) {
    if (is_machine_of(netns, name)) machines.insert(netns);
  }
  std::error_code scan_ec;
  for (const auto& root : cgroup_roots()) {
    for (const auto& entry : fs::directory_iterator(root, scan_ec)) {
      const auto machine = entry.path().filename().string();
      if (is_machine_of(machine, name)) machines.insert(machine);
    }
  }
  const auto pids = nspawn_pids([&](const std::string& machine) {
    return machines.contains(machine) || is_machine_of(machine, name);
  });
  if (!exists && machines.empty() && pids.empty()) return;
  say(reporter, fmt::format("{}: removing", name));

  for (const auto& root : cgroup_roots()) {
    for (const auto& machine : machines)
      kill_cgroup(root / machine);
  }
  stop_containers(pids);
  for (const auto& mount : sys::mounts_under(dir))
    sys::unmount(mount);
  for (const auto& machine : machines)
    delete_netns(machine);
  for (const auto& root : cgroup_roots()) {
    for (const auto& machine : machines)
      remove_cgroup(root / machine);
  }
  if (state) {
    for (const auto& host : state->hosts)
      delete_link(host.veth);
  }
  delete_link(state ? state->bridge : bridge_name(name));
  fs::remove_all(dir, ec);
  if (ec) throw Error(fmt::format("cannot remove {}: {}", dir.string(), ec.message()));
  if (sandbox_names(paths).empty()) {
    for (const auto& root : cgroup_roots())
      remove_cgroup(root);
    disable_nat(paths);
  }
}

// The container's init (systemd, PID 1 inside), a child of nspawn; 0 while starting.
int container_init(int nspawn_pid) {
  for (const auto& process : sys::processes()) {
    if (process.ppid == nspawn_pid && process.comm == "systemd") return process.pid;
  }
  return 0;
}

std::vector<std::string> in_container(int init_pid, std::vector<std::string> command) {
  std::vector<std::string> argv = {"nsenter", "-t", std::to_string(init_pid), "-m", "-u", "-i",
                                   "-n",      "-p"};
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

// Waits until `systemctl is-system-running` inside says running or degraded; on
// degraded records the failed units.
void wait_for_boot(Sandbox& sandbox, Host& host, Clock::time_point started,
                   Clock::time_point deadline) {
  const fs::path log = sandbox.dir / std::to_string(host.index) / "nspawn.log";
  std::string last_state = "not started";
  for (;;) {
    if (!sys::process_alive(host.nspawn_pid)) {
      throw Error(fmt::format("{}: systemd-nspawn exited while booting; its log ({}) ends:\n{}",
                              host.server, log.string(), log_tail(log)));
    }
    if (const int init = container_init(host.nspawn_pid)) {
      ProcessOptions options;
      options.timeout = std::chrono::seconds(10);
      auto result = run_process(in_container(init, {"systemctl", "is-system-running"}), options);
      if (result) {
        const auto state = trim(result->out);
        if (!state.empty()) last_state = state;
        if (state == "running" || state == "degraded") {
          host.status = state;
          host.boot_seconds = std::chrono::duration<double>(Clock::now() - started).count();
          if (state == "degraded") {
            auto failed = run_process(
                in_container(init, {"systemctl", "--failed", "--plain", "--no-legend"}), options);
            if (failed) {
              std::istringstream lines(failed->out);
              for (std::string line; std::getline(lines, line);) {
                std::istringstream words(line);
                std::string unit;
                if (words >> unit) host.failed_units.push_back(unit);
              }
            }
          }
          return;
        }
        if (state == "maintenance" || state == "stopping") {
          throw Error(fmt::format("{}: systemd inside reports `{}`; the boot log ({}) ends:\n{}",
                                  host.server, state, log.string(), log_tail(log)));
        }
      }
    }
    if (Clock::now() > deadline) {
      throw Error(fmt::format("{}: not booted in time: `systemctl is-system-running` still says "
                              "`{}`; the boot log ({}) ends:\n{}",
                              host.server, last_state, log.string(), log_tail(log)),
                  ExitCode::failure, "raise --timeout, or look at the log above");
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

// Logs in once with the printed key and known_hosts, proving the stanza works.
void check_ssh(const Sandbox& sandbox, const Host& host, Clock::time_point deadline) {
  std::string last;
  for (;;) {
    ProcessOptions options;
    options.timeout = std::chrono::seconds(15);
    auto result = run_process(ssh_argv(sandbox, host, {"true"}), options);
    if (result && result->ok()) return;
    last = result ? result->tail(3) : result.error().what();
    if (Clock::now() > deadline) {
      throw Error(
          fmt::format("{}: booted, but ssh root@{} fails: {}", host.server, host.address, last),
          ExitCode::unreachable,
          fmt::format("try it by hand: berth sandbox ssh {}/{}", sandbox.name, host.index));
    }
    std::this_thread::sleep_for(poll_interval * 2);
  }
}

// Writes what each host needs into its own layer before it boots: identity
// (machine-id, hostname, /etc/hosts naming its peers), its SSH host key, and root's
// authorized key.
void prepare_root(const Sandbox& sandbox, const Host& host, const fs::path& root) {
  sys::write_file(root / "etc/machine-id", sys::random_hex32() + "\n", 0444);
  sys::write_file(root / "etc/hostname", host.server + "\n");
  // Every host of the sandbox by name, so that fleet-1 reaches fleet-2 as "fleet-2".
  std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const auto& peer : sandbox.hosts)
    hosts += fmt::format("{}\t{}\n", peer.address, peer.server);
  sys::write_file(root / "etc/hosts", hosts);
  sys::run_checked({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@" + host.server,
                    "-f", (root / "etc/ssh/ssh_host_ed25519_key").string()},
                   fmt::format("generate the SSH host key of {}", host.server));
  std::error_code ec;
  fs::create_directories(root / "root/.ssh", ec);
  fs::permissions(root / "root/.ssh", fs::perms::owner_all, ec);
  sys::write_file(root / "root/.ssh/authorized_keys",
                  sys::read_file(sandbox.identity_file.string() + ".pub"), 0600);
}

void mount_overlay(const fs::path& lower, const fs::path& host_dir) {
  std::error_code ec;
  for (const char* sub : {"upper", "work", "root"})
    fs::create_directories(host_dir / sub, ec);
  const std::string options =
      fmt::format("lowerdir={},upperdir={},workdir={}", lower.string(),
                  (host_dir / "upper").string(), (host_dir / "work").string());
  if (::mount("overlay", (host_dir / "root").c_str(), "overlay", 0, options.c_str()) != 0) {
    throw Error(fmt::format("cannot mount the overlay on {}: {}", (host_dir / "root").string(),
                            std::strerror(errno)),
                ExitCode::failure,
                "does this kernel support overlayfs? (grep overlay /proc/filesystems)");
  }
}

// The host's network namespace, with eth0 on the sandbox bridge, configured before
// boot so that sshd is reachable the moment it starts.
void create_network(const Sandbox& sandbox, const Host& host) {
  sys::run_checked({"ip", "netns", "add", host.machine},
                   "create network namespace " + host.machine);
  ProcessOptions outside;
  outside.stdin_text = fmt::format("link add {0} type veth peer name eth0 netns {1}\n"
                                   "link set {0} master {2}\n"
                                   "link set {0} up\n",
                                   host.veth, host.machine, sandbox.bridge);
  sys::run_checked({"ip", "-batch", "-"}, "create link " + host.veth, outside);
  ProcessOptions inside;
  inside.stdin_text = fmt::format("link set lo up\n"
                                  "addr add {0}/24 dev eth0\n"
                                  "link set eth0 up\n"
                                  "route add default via {1}\n",
                                  host.address, host_address(sandbox.subnet, 0));
  sys::run_checked({"ip", "-n", host.machine, "-batch", "-"},
                   "configure the network of " + host.machine, inside);
}

int start_container(const Sandbox& sandbox, const Host& host) {
  const fs::path host_dir = sandbox.dir / std::to_string(host.index);
  const std::vector<std::string> argv = {
      "systemd-nspawn", "--quiet", "-D", (host_dir / "root").string(), "--boot",
      // No machined on this machine (PID 1 is not systemd): no registration, no scope.
      "--register=no", "--keep-unit", "--machine=" + host.machine, "--hostname=" + host.server,
      "--network-namespace-path=/run/netns/" + host.machine,
      // The host's network namespace is its own, as a VPS's is: it may set up its own
      // firewall (nftables), which needs CAP_NET_ADMIN (nspawn grants it only with
      // the networking it creates itself).
      "--capability=CAP_NET_ADMIN",
      // Our own resolv.conf and journal stay as the cache made them.
      "--resolv-conf=off", "--link-journal=no", "--timezone=off", "--console=read-only"};
  // The shell joins the host's cgroups and then becomes nspawn (exec keeps the PID),
  // so nspawn and the container start in them.
  std::vector<std::string> wrapped = {
      "/bin/sh", "-c",
      "while [ \"$1\" != -- ]; do echo $$ > \"$1\" || { echo \"berth: cannot join cgroup "
      "$1\" >&2; exit 1; }; shift; done; shift; exec \"$@\"",
      "sh"};
  for (const auto& root : cgroup_roots()) {
    const fs::path cgroup = root / host.machine;
    std::error_code ec;
    fs::create_directories(cgroup, ec);
    if (ec) {
      throw Error(fmt::format("cannot create cgroup {}: {}", cgroup.string(), ec.message()));
    }
    wrapped.push_back((cgroup / "cgroup.procs").string());
  }
  wrapped.emplace_back("--");
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  auto pid = spawn_detached(wrapped, host_dir / "nspawn.log");
  if (!pid) throw pid.error();
  return *pid;
}

std::string known_hosts_text(const Sandbox& sandbox) {
  std::string text;
  for (const auto& host : sandbox.hosts) {
    const fs::path key =
        sandbox.dir / std::to_string(host.index) / "root/etc/ssh/ssh_host_ed25519_key.pub";
    std::istringstream words(sys::read_file(key));
    std::string type, blob;
    words >> type >> blob;
    text += fmt::format("{} {} {}\n", host.address, type, blob);
  }
  return text;
}

void create(const Paths& paths, Sandbox& sandbox, const fs::path& rootfs, const UpOptions& options,
            const Reporter& reporter) {
  const auto started = Clock::now();
  sys::run_checked({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                    "berth-sandbox-" + sandbox.name, "-f", sandbox.identity_file.string()},
                   "generate the sandbox's SSH key");
  enable_nat(paths);
  delete_link(sandbox.bridge);
  ProcessOptions bridge;
  bridge.stdin_text = fmt::format("link add {0} type bridge\n"
                                  "addr add {1}/24 dev {0}\n"
                                  "link set {0} up\n",
                                  sandbox.bridge, host_address(sandbox.subnet, 0));
  sys::run_checked({"ip", "-batch", "-"}, "create bridge " + sandbox.bridge, bridge);

  std::vector<Clock::time_point> boot_started;
  for (auto& host : sandbox.hosts) {
    const fs::path host_dir = sandbox.dir / std::to_string(host.index);
    mount_overlay(rootfs, host_dir);
    prepare_root(sandbox, host, host_dir / "root");
    create_network(sandbox, host);
    boot_started.push_back(Clock::now());
    host.nspawn_pid = start_container(sandbox, host);
    host.status = "booting";
    save(sandbox);
    say(reporter, fmt::format("{}: booting at {}", host.server, host.address));
  }
  sys::write_file(sandbox.known_hosts, known_hosts_text(sandbox), 0644);

  const auto deadline = Clock::now() + options.boot_timeout;
  for (std::size_t i = 0; i < sandbox.hosts.size(); ++i) {
    auto& host = sandbox.hosts[i];
    wait_for_boot(sandbox, host, boot_started[i], deadline);
    check_ssh(sandbox, host, deadline);
    save(sandbox);
    if (host.status == "degraded") {
      std::string units;
      for (const auto& unit : host.failed_units)
        units += (units.empty() ? "" : ", ") + unit;
      say(reporter, fmt::format("{}: degraded after {:.1f} s; failed units: {}", host.server,
                                host.boot_seconds, units));
    } else {
      say(reporter, fmt::format("{}: running after {:.1f} s", host.server, host.boot_seconds));
    }
  }
  sandbox.complete = true;
  save(sandbox);
  std::string addresses;
  for (const auto& host : sandbox.hosts)
    addresses += host.address + "\n";
  sys::write_file(sandbox.dir / "addresses", addresses);
  sys::write_file(sandbox.dir / "stanza.toml", render_stanza(sandbox.stanza_hosts()));
  say(reporter, fmt::format("{}: {} host(s) up in {:.1f} s", sandbox.name, sandbox.hosts.size(),
                            std::chrono::duration<double>(Clock::now() - started).count()));
}

}  // namespace

void check_requirements() {
  struct utsname system {};
  if (::uname(&system) != 0 || std::string_view(system.sysname) != "Linux") {
    throw Error("berth sandbox needs Linux (it runs hosts as systemd-nspawn containers)",
                ExitCode::failure, "use a Linux machine or VM with systemd-nspawn");
  }
  if (::geteuid() != 0) {
    throw Error("berth sandbox needs root: it mounts overlays, creates network links and starts "
                "containers",
                ExitCode::failure, "run it as root (sudo berth sandbox ...)");
  }
  const std::vector<std::pair<const char*, const char*>> programs = {
      {"systemd-nspawn", "systemd-container"},
      {"debootstrap", "debootstrap"},
      {"nft", "nftables"},
      {"ip", "iproute2"},
      {"ssh-keygen", "openssh-client"},
      {"ssh", "openssh-client"},
      {"nsenter", "util-linux"}};
  std::string missing, packages;
  for (const auto& [program, package] : programs) {
    if (find_program(program)) continue;
    missing += (missing.empty() ? "" : ", ") + std::string(program);
    if (packages.find(package) == std::string::npos) packages += std::string(" ") + package;
  }
  if (!missing.empty()) {
    throw Error("berth sandbox needs programs that are not installed: " + missing,
                ExitCode::failure, "install them: apt-get install" + packages);
  }
  std::string filesystems;
  try {
    filesystems = sys::read_file("/proc/filesystems");
  } catch (const Error&) {
  }
  if (filesystems.find("overlay") == std::string::npos) {
    throw Error("berth sandbox needs overlayfs, which this kernel does not offer",
                ExitCode::failure, "load it: modprobe overlay");
  }
}

Sandbox up(const Paths& paths, std::string_view name, const UpOptions& options,
           const Reporter& reporter) {
  check_requirements();
  if (auto problem = name_problem(name); !problem.empty()) {
    throw Error(fmt::format("invalid sandbox name `{}`: {}", name, problem), ExitCode::usage);
  }
  if (options.count < 1 || options.count > max_hosts) {
    throw Error(fmt::format("--count must be 1 to {}", max_hosts), ExitCode::usage);
  }
  if (!debian::find(options.release)) {
    throw Error(fmt::format("--release {}: berth supports {}", options.release, debian::supported_text()),
                ExitCode::usage);
  }
  const fs::path rootfs = ensure_cache(paths, reporter, options.release);

  sys::FileLock lock(paths.state / ".lock", [&] { say(reporter, waiting_for_lock); });
  const fs::path dir = paths.state / name;
  if (auto existing = load(dir)) {
    const bool running = existing->complete &&
                         std::all_of(existing->hosts.begin(), existing->hosts.end(), host_alive);
    if (running) {
      throw Error(fmt::format("sandbox {} is already up", name), ExitCode::failure,
                  fmt::format("use it (berth sandbox list), or remove it first: berth sandbox "
                              "down {}",
                              name));
    }
    say(reporter, fmt::format("{}: removing what an interrupted or stopped run left", name));
  }
  down_locked(paths, name, reporter);

  const auto subnet = allocate_subnet(used_subnets(paths));
  if (!subnet) {
    throw Error("no free /24 left in 198.18.0.0/15 for another sandbox", ExitCode::failure,
                "remove sandboxes you no longer need: berth sandbox list, berth sandbox down NAME");
  }
  Sandbox sandbox;
  sandbox.name = std::string(name);
  sandbox.subnet = *subnet;
  sandbox.bridge = bridge_name(name);
  sandbox.cache_key = rootfs.parent_path().filename().string();
  sandbox.dir = dir;
  sandbox.identity_file = dir / "id_ed25519";
  sandbox.known_hosts = dir / "known_hosts";
  for (int i = 1; i <= options.count; ++i) {
    Host host;
    host.index = i;
    host.server = server_name(name, i, options.count);
    host.machine = machine_name(name, i);
    host.address = host_address(*subnet, i);
    host.veth = veth_name(*subnet, i);
    host.status = "creating";
    sandbox.hosts.push_back(std::move(host));
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  // The state is written before anything is created, so that `down` finds all of it.
  save(sandbox);

  try {
    create(paths, sandbox, rootfs, options, reporter);
  } catch (const Error&) {
    say(reporter, fmt::format("{}: up failed; removing what it created", name));
    try {
      down_locked(paths, name, reporter);
    } catch (const Error& cleanup) {
      say(reporter, fmt::format("{}: cleanup failed too: {}", name, cleanup.what()));
    }
    throw;
  }
  return sandbox;
}

void down(const Paths& paths, std::string_view name, const Reporter& reporter) {
  check_requirements();
  if (auto problem = name_problem(name); !problem.empty()) {
    throw Error(fmt::format("invalid sandbox name `{}`: {}", name, problem), ExitCode::usage);
  }
  sys::FileLock lock(paths.state / ".lock", [&] { say(reporter, waiting_for_lock); });
  down_locked(paths, name, reporter);
}

void down_all(const Paths& paths, const Reporter& reporter) {
  check_requirements();
  sys::FileLock lock(paths.state / ".lock", [&] { say(reporter, waiting_for_lock); });
  for (const auto& name : sandbox_names(paths))
    down_locked(paths, name, reporter);

  // Whatever a crash left without a state folder, found by berth's names.
  const std::string prefix = std::string(link_prefix) + "-";
  for (const auto& root : cgroup_roots())
    kill_cgroup(root);
  stop_containers(
      nspawn_pids([&](const std::string& machine) { return machine.starts_with(prefix); }));
  for (const auto& mount : sys::mounts_under(paths.state))
    sys::unmount(mount);
  for (const auto& netns : sys::netns_names()) {
    if (netns.starts_with(prefix)) delete_netns(netns);
  }
  for (const auto& link : sys::links()) {
    if (link.starts_with(link_prefix)) delete_link(link);
  }
  for (const auto& root : cgroup_roots())
    remove_cgroup(root);
  disable_nat(paths);
}

std::vector<Sandbox> list(const Paths& paths) {
  std::vector<Sandbox> result;
  for (const auto& name : sandbox_names(paths)) {
    auto sandbox = load(paths.state / name);
    if (!sandbox) continue;
    for (auto& host : sandbox->hosts) {
      if (host.nspawn_pid != 0 && !host_alive(host)) host.status = "stopped";
    }
    result.push_back(std::move(*sandbox));
  }
  return result;
}

Sandbox find(const Paths& paths, std::string_view name) {
  for (auto& sandbox : list(paths)) {
    if (sandbox.name == name) return sandbox;
  }
  throw Error(fmt::format("no sandbox named `{}`", name), ExitCode::failure,
              fmt::format("start it: berth sandbox up {}", name));
}

std::vector<std::string> ssh_argv(const Sandbox& sandbox, const Host& host,
                                  const std::vector<std::string>& command) {
  std::vector<std::string> argv = {"ssh",
                                   "-F",
                                   "/dev/null",
                                   "-i",
                                   sandbox.identity_file.string(),
                                   "-o",
                                   "IdentitiesOnly=yes",
                                   "-o",
                                   "UserKnownHostsFile=" + sandbox.known_hosts.string(),
                                   "-o",
                                   "GlobalKnownHostsFile=/dev/null",
                                   "-o",
                                   "StrictHostKeyChecking=yes",
                                   "-o",
                                   "BatchMode=yes",
                                   "-o",
                                   "ConnectTimeout=10",
                                   "-o",
                                   "LogLevel=ERROR",
                                   "root@" + host.address};
  if (!command.empty()) argv.emplace_back("--");
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

}  // namespace berth::sandbox
