#include <core/ssh/text.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <utility>
#include <vector>

#include <pwd.h>
#include <unistd.h>

namespace berth::ssh {

using util::shell_quote;



namespace {

bool needs_sudo(Privilege privilege, std::string_view user, bool become) {
  return privilege == Privilege::root && user != "root" && become;
}

}  // namespace

std::string script_command(Privilege privilege, std::string_view user, bool become) {
  return needs_sudo(privilege, user, become) ? "sudo -n /bin/sh -s" : "/bin/sh -s";
}

std::string upload_command(std::string_view remote_dir, Privilege privilege,
                           std::string_view user, bool become, const util::Frame& frame) {
  // No checksum in the pipeline: tee into a hasher made the server copy every byte
  // twice more through pipes, which cost more CPU than unpacking. The files are
  // checked after tar, read once from the page cache by cksum (PCLMULQDQ in
  // coreutils 9). 1 MiB records (-b 2048 -B) cut tar's reads and writes by 100.
  // The ctime filter keeps files that were there before out of the listing; the
  // reference is two seconds old so that the clock's granularity loses nothing.
  const std::string script = frame.prelude() + fmt::format(
      "set -e; d={}; mkdir -p \"$d\"; cd \"$d\"; t=$(mktemp); trap 'rm -f \"$t\" \"$t.l\" \"$t.o\"' EXIT; "
      "touch -d \"@$(($(date +%s) - 2))\" \"$t\"; "
      // A full disk shows as "Wrote only N of M bytes" or "No space left": say how full.
      "tar -x -b 2048 -B -f - || {{ rc=$?; df -Pk . | awk 'NR == 2 {{ printf \"%s has %d KiB free of %d KiB\\n\", $6, $4, $2 }}' >&2; exit $rc; }}; "
      "find . -type f -cnewer \"$t\" -print0 > \"$t.l\"; "
      "{{ cat \"$t.l\"; printf '\\0'; xargs -0 -r cksum -- < \"$t.l\"; }} > \"$t.o\"; "
      "rec_file upload listing \"$t.o\"",
      shell_quote(remote_dir));
  const std::string command = "/bin/sh -c " + shell_quote(script);
  return needs_sudo(privilege, user, become) ? "sudo -n " + command : command;
}

bool relaxes_host_key_checking(std::string_view config_text) {
  std::istringstream lines{std::string(config_text)};
  std::string line;
  while (std::getline(lines, line)) {
    std::string lower;
    for (char c : line) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto start = lower.find_first_not_of(" \t");
    if (start == std::string::npos || lower.compare(start, 21, "stricthostkeychecking") != 0) {
      continue;
    }
    auto value = lower.substr(start + 21);
    std::erase_if(value, [](char c) { return c == ' ' || c == '\t' || c == '=' || c == '"'; });
    if (value == "no" || value == "off" || value == "accept-new") return true;
  }
  return false;
}

std::string expand_home(std::string_view path) {
  if (!path.starts_with("~/")) return std::string(path);
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + std::string(path.substr(1));
}

std::string expand_ssh_home(std::string_view path) {
  if (!path.starts_with("~/")) return std::string(path);
  passwd entry{};
  passwd* found = nullptr;
  std::array<char, 4096> buffer{};
  if (getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 &&
      found != nullptr && found->pw_dir != nullptr) {
    return std::string(found->pw_dir) + std::string(path.substr(1));
  }
  return expand_home(path);
}

std::string throughput(std::uint64_t bytes, std::chrono::milliseconds ms) {
  if (ms.count() <= 0) return "-";
  return fmt::format("{:.1f} MB/s", static_cast<double>(bytes) / 1e6 / (ms.count() / 1000.0));
}

}  // namespace berth::ssh
