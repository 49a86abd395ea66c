#include <core/db/backups.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

#include <charconv>
#include <ctime>

namespace berth::db {

namespace {

const char* verb_name(Verb verb) {
  switch (verb) {
  case Verb::backup:
    return "backup";
  case Verb::list:
    return "list";
  case Verb::show:
    return "show";
  case Verb::restore:
    return "restore";
  case Verb::snapshots:
    return "snapshots";
  case Verb::verify:
    return "verify";
  }
  return "list";
}

// The lines of `text`, without their newlines.
template <typename F> void for_each_line(std::string_view text, F&& f) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    f(text.substr(pos, eol - pos));
    pos = eol + 1;
  }
}

}  // namespace

std::string command(std::string_view script, Verb verb, std::string_view file) {
  const auto q = util::shell_quote(script);
  return fmt::format(
      "if [ ! -x {0} ]; then echo \"{1} is not installed: run berth setup\" >&2; exit 127; fi\n"
      "out=$({0} {2}{3}); rc=$?\n"
      "rec db output \"$out\"\n"
      "exit $rc\n",
      q, script, verb_name(verb), file.empty() ? std::string() : " " + util::shell_quote(file));
}

namespace {

// The backup script's stdout, as the "db output" record carries it.
std::string_view script_output(const std::vector<util::Record>& records) {
  for (const auto& r : records) {
    if (r.subject == "db" && r.field == "output") return r.value;
  }
  return {};
}

}  // namespace

std::vector<BackupFile> parse_backups(const std::vector<util::Record>& records) {
  const auto out = script_output(records);
  std::vector<BackupFile> files;
  for_each_line(out, [&](std::string_view line) {
    constexpr std::string_view tag = "@@backup ";
    if (!line.starts_with(tag)) return;
    line.remove_prefix(tag.size());
    const auto modified_at = line.rfind(' ');
    if (modified_at == std::string_view::npos) return;
    const auto bytes_at = line.rfind(' ', modified_at - 1);
    if (bytes_at == std::string_view::npos || bytes_at == 0) return;
    BackupFile f;
    const auto bytes = line.substr(bytes_at + 1, modified_at - bytes_at - 1);
    const auto [end, ec] = std::from_chars(bytes.data(), bytes.data() + bytes.size(), f.bytes);
    if (ec != std::errc() || end != bytes.data() + bytes.size()) return;
    f.path = std::string(line.substr(0, bytes_at));
    f.modified = std::string(line.substr(modified_at + 1));
    files.push_back(std::move(f));
  });
  return files;
}

namespace {

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// The words of `line` after its first `skip` ones, as one text.
std::string rest_of(std::string_view line, std::size_t skip) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < skip && pos != std::string_view::npos; ++i) {
    pos = line.find(' ', pos);
    if (pos != std::string_view::npos) ++pos;
  }
  return pos == std::string_view::npos ? std::string() : std::string(line.substr(pos));
}

std::string utc(std::uint64_t epoch) {
  const auto t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace

std::vector<Snapshot> parse_snapshots(const std::vector<util::Record>& records) {
  const auto out = script_output(records);
  std::vector<Snapshot> snapshots;
  for_each_line(out, [&](std::string_view line) {
    if (!line.starts_with("@@snapshot ")) return;
    const auto f = util::fields(line);
    if (f.size() < 4) return;
    Snapshot s{.id = std::string(f[1]), .time = std::string(f[2]), .host = std::string(f[3])};
    if (f.size() > 4) s.bytes = number(f[4]);
    snapshots.push_back(std::move(s));
  });
  for_each_line(out, [&](std::string_view line) {
    if (!line.starts_with("@@record ")) return;
    const auto f = util::fields(line);
    if (f.size() < 5) return;
    for (auto& s : snapshots) {
      if (!f[3].starts_with(s.id) && !std::string_view(s.id).starts_with(f[3])) continue;
      if (f[1] == "last") {
        if (!s.bytes) s.bytes = number(f[4]);
      } else if (f[1] == "verify" && (f[4] == "ok" || f[4] == "failed")) {
        // Later lines are later verifications.
        s.verified = std::string(f[4]);
        const auto at = number(f[2]);
        s.verified_at = at ? utc(*at) : std::string(f[2]);
        s.detail = rest_of(line, 5);
      }
    }
  });
  return snapshots;
}

std::optional<Verification> parse_verification(const std::vector<util::Record>& records) {
  std::optional<Verification> found;
  for_each_line(script_output(records), [&](std::string_view line) {
    if (!line.starts_with("@@verified ")) return;
    const auto f = util::fields(line);
    if (f.size() < 3) return;
    found = Verification{.snapshot = std::string(f[1]), .ok = f[2] == "ok", .detail = rest_of(line, 3)};
  });
  return found;
}

bool restored(const std::vector<util::Record>& records) {
  const auto out = script_output(records);
  bool seen = false;
  for_each_line(out,
                [&](std::string_view line) { seen = seen || line.starts_with("@@restored "); });
  return seen;
}

std::string human_size(std::uint64_t bytes) {
  constexpr const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  if (bytes < 1000) return fmt::format("{} B", bytes);
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

}  // namespace berth::db
