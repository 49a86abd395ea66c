#include <core/debian.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

namespace berth::debian {

const std::vector<Release>& supported() {
  static const std::vector<Release> releases{
      {.number = 12, .codename = "bookworm", .postgresql = "15", .nodejs = "18", .nginx_http2_on = false},
      {.number = 13, .codename = "trixie", .postgresql = "17", .nodejs = "20", .nginx_http2_on = true},
  };
  return releases;
}

const Release& assumed() { return supported().front(); }

std::optional<Release> find(int number) {
  for (const auto& r : supported()) {
    if (r.number == number) return r;
  }
  return std::nullopt;
}

namespace {

std::filesystem::path hints_file() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "berth/releases";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache/berth/releases";
  return {};
}

// "SERVER NUMBER" lines.
std::map<std::string, int> read_hints(const std::filesystem::path& file) {
  std::map<std::string, int> out;
  std::ifstream in(file);
  std::string server;
  int number = 0;
  while (in >> server >> number) out[server] = number;
  return out;
}

}  // namespace

std::optional<Release> remembered(const std::string& server) {
  const auto file = hints_file();
  if (file.empty()) return std::nullopt;
  const auto hints = read_hints(file);
  const auto it = hints.find(server);
  return it == hints.end() ? std::nullopt : find(it->second);
}

void remember(const std::string& server, int number) {
  const auto file = hints_file();
  if (file.empty() || server.find_first_of(" \t\n") != std::string::npos) return;
  auto hints = read_hints(file);
  if (hints[server] == number) return;
  hints[server] = number;
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  const auto tmp = file.string() + "." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& [name, n] : hints) out << name << ' ' << n << '\n';
    if (!out) return;
  }
  std::filesystem::rename(tmp, file, ec);  // a hint: losing it costs one exec
  if (ec) std::filesystem::remove(tmp, ec);
}

std::string supported_text() {
  std::string out;
  const auto& all = supported();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i > 0) out += i + 1 == all.size() ? " and " : ", ";
    out += fmt::format("{}{} ({})", i == 0 ? "Debian " : "", all[i].number, all[i].codename);
  }
  return out;
}

Identified identify(std::string_view os_record) {
  const auto words = util::fields(os_record);
  // "-" stands for a field /etc/os-release does not have (testing has no VERSION_ID).
  const auto word = [&](std::size_t i) {
    return i < words.size() && words[i] != "-" ? std::string(words[i]) : std::string();
  };
  const auto id = word(0);
  const auto version = word(1);
  if (id != "debian") {
    return {std::nullopt, fmt::format("it runs {}, not Debian: berth supports {}",
                                      id.empty() ? "a system without /etc/os-release" : id + " " + version,
                                      supported_text())};
  }
  int number = 0;
  std::from_chars(version.data(), version.data() + version.size(), number);
  if (const auto r = find(number)) return {r, {}};
  return {std::nullopt, fmt::format("it runs Debian {}: berth supports {}",
                                    version.empty() ? "testing or unstable (no VERSION_ID)" : version,
                                    supported_text())};
}

}  // namespace berth::debian
