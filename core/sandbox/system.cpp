#include <core/sandbox/system.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace berth::sandbox::sys {

namespace fs = std::filesystem;

ProcessResult run_checked(const std::vector<std::string>& argv, std::string_view what,
                          const ProcessOptions& options) {
  auto result = run_process(argv, options);
  if (!result)
    throw Error(fmt::format("cannot {}: {}", what, result.error().what()), result.error().code(),
                result.error().hint());
  if (!result->ok()) {
    throw Error(fmt::format("cannot {}: `{}` exited with {}{}{}", what, describe_command(argv),
                            result->exit_code, result->tail().empty() ? "" : ":\n",
                            result->tail()));
  }
  return std::move(*result);
}

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
bool parse_stat(const std::string& stat, std::string& comm, char& state, int& ppid) {
  const auto open = stat.find('(');
  const auto close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 4 > stat.size()) {
    return false;
  }
  comm = stat.substr(open + 1, close - open - 1);
  state = stat[close + 2];
  ppid = std::atoi(stat.c_str() + close + 4);
  return true;
}

// Undoes the octal escapes (\040 for space) of /proc/self/mountinfo.
std::string unescape_mount_path(std::string_view text) {
  std::string path;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      const auto digits = text.substr(i + 1, 3);
      if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        path += static_cast<char>(std::stoi(std::string(digits), nullptr, 8));
        i += 3;
        continue;
      }
    }
    path += text[i];
  }
  return path;
}

}  // namespace

bool process_alive(int pid) {
  if (pid <= 0) return false;
  // Reaps it when it is our own exited child; harmless otherwise.
  int status = 0;
  ::waitpid(pid, &status, WNOHANG);
  const std::string stat = slurp(fmt::format("/proc/{}/stat", pid));
  std::string comm;
  char state = 0;
  int ppid = 0;
  if (!parse_stat(stat, comm, state, ppid)) return false;
  return state != 'Z' && state != 'X';
}

std::vector<ProcessInfo> processes() {
  std::vector<ProcessInfo> result;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    ProcessInfo info;
    info.pid = std::atoi(name.c_str());
    char state = 0;
    if (!parse_stat(slurp(entry.path() / "stat"), info.comm, state, info.ppid)) continue;
    if (state == 'Z' || state == 'X') continue;
    const std::string cmdline = slurp(entry.path() / "cmdline");
    std::size_t start = 0;
    while (start < cmdline.size()) {
      auto end = cmdline.find('\0', start);
      if (end == std::string::npos) end = cmdline.size();
      info.argv.push_back(cmdline.substr(start, end - start));
      start = end + 1;
    }
    result.push_back(std::move(info));
  }
  return result;
}

std::string nspawn_machine(const ProcessInfo& process) {
  if (process.argv.empty() || fs::path(process.argv[0]).filename() != "systemd-nspawn") return {};
  for (const auto& arg : process.argv) {
    if (arg.starts_with("--machine=")) return arg.substr(10);
  }
  return {};
}

std::vector<fs::path> mounts_under(const fs::path& root) {
  std::vector<fs::path> found;
  const std::string prefix = root.lexically_normal().string();
  std::istringstream lines(slurp("/proc/self/mountinfo"));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, source, target;
    fields >> id >> parent >> device >> source >> target;
    const std::string path = unescape_mount_path(target);
    if (path == prefix || path.starts_with(prefix + "/")) found.emplace_back(path);
  }
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return a.string().size() > b.string().size();
  });
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

bool mount_uses(const fs::path& root) {
  const std::string prefix = root.lexically_normal().string();
  const auto under = [&](std::string_view escaped) {
    const auto path = unescape_mount_path(escaped);
    return path == prefix || path.starts_with(prefix + "/");
  };
  std::istringstream lines(slurp("/proc/self/mountinfo"));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, source, target;
    fields >> id >> parent >> device >> source >> target;
    if (under(target)) return true;
    // After " - ": the filesystem type, its source, then its options, where an
    // overlay names its layers (lowerdir=A:B,upperdir=C,workdir=D).
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream rest(line.substr(dash + 3));
    std::string type, mount_source, options;
    rest >> type >> mount_source >> options;
    // Each value of an option, cut at ',' (between options), '=' and ':' (between
    // lower layers); a path starts with '/'.
    std::string_view rest_of(options);
    while (!rest_of.empty()) {
      const auto end = rest_of.find_first_of(",=:");
      const auto piece = rest_of.substr(0, end);
      if (piece.starts_with('/') && under(piece)) return true;
      if (end == std::string_view::npos) break;
      rest_of.remove_prefix(end + 1);
    }
  }
  return false;
}

void unmount(const fs::path& target) {
  if (::umount2(target.c_str(), 0) == 0) return;
  const int first = errno;
  if (first == EINVAL || first == ENOENT) return;  // not (or no longer) a mount point
  if (::umount2(target.c_str(), MNT_DETACH) == 0) return;
  throw Error(fmt::format("cannot unmount {}: {}", target.string(), std::strerror(first)),
              ExitCode::failure, "see which process uses it: fuser -vm " + target.string());
}

bool link_exists(std::string_view name) {
  std::error_code ec;
  return fs::exists(fs::path("/sys/class/net") / name, ec);
}

std::vector<std::string> links() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/class/net", ec)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

std::vector<std::string> netns_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/run/netns", ec)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

bool nft_table_exists(std::string_view name) {
  auto result = run_process({"nft", "list", "table", "ip", std::string(name)});
  return result && result->ok();
}

void write_file(const fs::path& path, std::string_view content, int mode) {
  const fs::path temp = path.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) throw Error(fmt::format("cannot write {}: {}", temp.string(), std::strerror(errno)));
  }
  ::chmod(temp.c_str(), static_cast<mode_t>(mode));
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) throw Error(fmt::format("cannot write {}: {}", path.string(), ec.message()));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

FileLock::FileLock(const fs::path& path, const std::function<void()>& on_wait) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0)
    throw Error(fmt::format("cannot open lock {}: {}", path.string(), std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
  if (errno == EWOULDBLOCK && on_wait) on_wait();
  if (::flock(fd_, LOCK_EX) != 0) {
    const int error = errno;
    ::close(fd_);
    throw Error(fmt::format("cannot lock {}: {}", path.string(), std::strerror(error)));
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::string random_hex32() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw Error("cannot get random bytes (OpenSSL)");
  std::string hex;
  for (unsigned char b : bytes)
    hex += fmt::format("{:02x}", b);
  return hex;
}

}  // namespace berth::sandbox::sys
