#include <core/db/backups.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

#include <charconv>

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
