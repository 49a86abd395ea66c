#include <core/manifest/schedule.hpp>
#include <core/manifest/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

namespace berth::manifest {

namespace {

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find(sep, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::vector<std::string> words(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<int> to_int(std::string_view text) {
  int value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || text.empty()) return std::nullopt;
  return value;
}

// One field of a cron expression and what it may hold.
struct CronField {
  const char* what;
  int min;
  int max;
  std::vector<std::string_view> names;  // names[i] stands for min + i ("jan", "sun")
};

const CronField minute_field{"minute", 0, 59, {}};
const CronField hour_field{"hour", 0, 23, {}};
const CronField day_field{"day-of-month", 1, 31, {}};
const CronField month_field{
    "month", 1, 12, {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}};
const CronField weekday_field{"day-of-week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}};

using Expected = std::expected<std::string, std::string>;

std::expected<int, std::string> cron_value(const CronField& f, std::string_view text) {
  std::optional<int> value = to_int(text);
  if (!value) {
    const auto name = lower(text);
    for (std::size_t i = 0; i < f.names.size(); ++i) {
      if (f.names[i] == name) value = f.min + static_cast<int>(i);
    }
  }
  if (!value) return std::unexpected(fmt::format("'{}' is not a valid {}", text, f.what));
  if (*value < f.min || *value > f.max) {
    return std::unexpected(
        fmt::format("{} {} is out of range ({}-{})", f.what, *value, f.min, f.max));
  }
  return *value;
}

// One comma-separated item of a cron field, e.g. "*", "5", "1-5", "*/15", "0-30/10".
struct CronItem {
  bool star = false;
  int first = 0;
  int last = 0;    // == first for a single value
  int step = 0;    // 0: no step
};

std::expected<CronItem, std::string> cron_item(const CronField& f, std::string_view text) {
  CronItem item;
  auto range = text;
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    const auto step = to_int(text.substr(slash + 1));
    if (!step || *step < 1) {
      return std::unexpected(fmt::format("'{}' has an invalid step in the {} field", text, f.what));
    }
    item.step = *step;
    range = text.substr(0, slash);
  }
  if (range == "*") {
    item.star = true;
    item.first = f.min;
    item.last = f.max;
    return item;
  }
  if (const auto dash = range.find('-'); dash != std::string_view::npos) {
    auto first = cron_value(f, range.substr(0, dash));
    if (!first) return std::unexpected(first.error());
    auto last = cron_value(f, range.substr(dash + 1));
    if (!last) return std::unexpected(last.error());
    if (*last < *first) {
      return std::unexpected(fmt::format("range '{}' of the {} field runs backwards", range, f.what));
    }
    item.first = *first;
    item.last = *last;
    return item;
  }
  auto value = cron_value(f, range);
  if (!value) return std::unexpected(value.error());
  item.first = *value;
  // "5/15" means from 5 to the end in steps of 15.
  item.last = item.step != 0 ? f.max : *value;
  return item;
}

// A cron field as a systemd calendar component ("*", "08", "01..05", "00/15", "1,15").
Expected calendar_component(const CronField& f, std::string_view text, int width) {
  std::vector<std::string> out;
  const auto items = split(text, ',');
  for (const auto& text_item : items) {
    auto item = cron_item(f, text_item);
    if (!item) return std::unexpected(item.error());
    if (item->star && items.size() > 1) {
      return std::unexpected(fmt::format("'*' cannot be part of a list in the {} field", f.what));
    }
    if (item->star && item->step == 0) {
      out.emplace_back("*");
    } else if (item->step == 0 && item->first == item->last) {
      out.push_back(fmt::format("{:0{}}", item->first, width));
    } else if (item->step == 0) {
      out.push_back(fmt::format("{:0{}}..{:0{}}", item->first, width, item->last, width));
    } else if (item->last == f.max) {
      out.push_back(fmt::format("{:0{}}/{}", item->first, width, item->step));
    } else {
      // systemd has no bounded repetition: spell the values out.
      for (int v = item->first; v <= item->last; v += item->step) {
        out.push_back(fmt::format("{:0{}}", v, width));
      }
    }
  }
  std::string joined;
  for (const auto& part : out) joined += (joined.empty() ? "" : ",") + part;
  return joined;
}

// The day-of-week field as systemd weekdays ("Mon..Fri", "Sat,Sun"); empty for "*".
Expected calendar_weekdays(std::string_view text) {
  if (text == "*") return std::string();
  std::set<int> days;  // 1 = Mon ... 7 = Sun, systemd's order
  for (const auto& text_item : split(text, ',')) {
    auto item = cron_item(weekday_field, text_item);
    if (!item) return std::unexpected(item.error());
    const int step = item->step == 0 ? 1 : item->step;
    for (int v = item->first; v <= item->last; v += step) days.insert(v == 0 ? 7 : v);
  }
  static constexpr std::array<const char*, 8> names{"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  std::string out;
  for (int d = 1; d <= 7;) {
    if (!days.contains(d)) {
      ++d;
      continue;
    }
    int end = d;
    while (end + 1 <= 7 && days.contains(end + 1)) ++end;
    if (!out.empty()) out += ",";
    if (end - d >= 2) {
      out += fmt::format("{}..{}", names[d], names[end]);
    } else {
      for (int v = d; v <= end; ++v) out += fmt::format("{}{}", v == d ? "" : ",", names[v]);
    }
    d = end + 1;
  }
  return out;
}

Expected cron_to_on_calendar(const std::vector<std::string>& f) {
  if (f[2] != "*" && f[4] != "*") {
    return std::unexpected(
        "cron schedules that restrict both day-of-month and day-of-week are not supported "
        "(cron runs when either matches, systemd when both do); use two jobs or an OnCalendar "
        "expression");
  }
  auto minute = calendar_component(minute_field, f[0], 2);
  if (!minute) return minute;
  auto hour = calendar_component(hour_field, f[1], 2);
  if (!hour) return hour;
  auto day = calendar_component(day_field, f[2], 2);
  if (!day) return day;
  auto month = calendar_component(month_field, f[3], 2);
  if (!month) return month;
  auto weekdays = calendar_weekdays(f[4]);
  if (!weekdays) return weekdays;
  auto out = fmt::format("*-{}-{} {}:{}:00", *month, *day, *hour, *minute);
  return weekdays->empty() ? out : *weekdays + " " + out;
}

bool is_day_name(std::string_view name) {
  static const std::set<std::string, std::less<>> days{
      "mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "tuesday", "wednesday",
      "thursday", "friday", "saturday", "sunday"};
  return days.contains(lower(name));
}

bool is_weekday_token(std::string_view token) {
  for (const auto& item : split(token, ',')) {
    const auto range = item.find("..");
    if (range == std::string::npos) {
      if (!is_day_name(item)) return false;
    } else if (!is_day_name(item.substr(0, range)) || !is_day_name(item.substr(range + 2))) {
      return false;
    }
  }
  return true;
}

// One item of a date or time part: "*" or N or N..M, then an optional /STEP; seconds
// (`fractional`) may have decimals.
bool is_calendar_item(std::string_view s, bool fractional) {
  std::size_t pos = 0;
  if (s.starts_with('*')) {
    pos = 1;
  } else {
    pos = text::scan_number(s, 0, fractional);
    if (pos == 0) return false;
    if (s.substr(pos).starts_with("..")) {
      const auto n = text::scan_number(s, pos + 2, fractional);
      if (n == 0) return false;
      pos += 2 + n;
    }
  }
  if (pos < s.size() && s[pos] == '/') {
    const auto n = text::scan_number(s, pos + 1, fractional);
    if (n == 0) return false;
    pos += 1 + n;
  }
  return pos == s.size();
}

// Each part of a date or time: a comma list of items.
bool is_calendar_part(std::string_view part, bool fractional) {
  for (const auto& item : split(part, ',')) {
    if (!is_calendar_item(item, fractional)) return false;
  }
  return true;
}

bool is_date_token(std::string_view token) {
  // "~" counts days from the end of the month ("*-02~03").
  std::string text(token);
  std::replace(text.begin(), text.end(), '~', '-');
  const auto parts = split(text, '-');
  if (parts.size() < 2 || parts.size() > 3) return false;
  return std::all_of(parts.begin(), parts.end(),
                     [](const std::string& p) { return is_calendar_part(p, false); });
}

bool is_time_token(std::string_view token) {
  const auto parts = split(token, ':');
  if (parts.size() < 2 || parts.size() > 3) return false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!is_calendar_part(parts[i], i == 2)) return false;
  }
  return true;
}

// "UTC", or an IANA name like Europe/Paris.
bool is_time_zone(std::string_view token) {
  if (token == "UTC") return true;
  const auto zone_char = [](char c) {
    return text::is_alnum(c) || c == '_' || c == '+' || c == '-';
  };
  const auto parts = split(token, '/');
  if (parts.size() < 2 || !text::is_word(parts[0], text::is_upper, zone_char)) return false;
  return std::all_of(parts.begin() + 1, parts.end(), [&](const std::string& p) {
    return text::is_word(p, zone_char, zone_char);
  });
}

Expected check_on_calendar(std::string_view schedule) {
  auto tokens = words(schedule);
  auto bad = [&](std::string_view why) {
    return std::unexpected(fmt::format(
        "'{}' is neither a 5-field cron expression, a named schedule (hourly, daily, weekly, "
        "monthly...) nor a systemd OnCalendar expression ({})",
        schedule, why));
  };
  if (tokens.empty()) return bad("it is empty");
  if (tokens.size() > 1 && is_time_zone(tokens.back())) tokens.pop_back();
  std::size_t i = 0;
  if (i < tokens.size() && is_weekday_token(tokens[i])) ++i;
  bool has_date = false;
  bool has_time = false;
  if (i < tokens.size() && tokens[i].find(':') == std::string::npos) {
    if (!is_date_token(tokens[i])) return bad(fmt::format("bad date '{}'", tokens[i]));
    has_date = true;
    ++i;
  }
  if (i < tokens.size()) {
    if (!is_time_token(tokens[i])) return bad(fmt::format("bad time '{}'", tokens[i]));
    has_time = true;
    ++i;
  }
  if (i != tokens.size()) return bad(fmt::format("unexpected '{}'", tokens[i]));
  if (!has_date && !has_time && i == 0) return bad("no date or time");
  return std::string(schedule);
}

}  // namespace

std::expected<std::string, std::string> to_on_calendar(std::string_view schedule) {
  static const std::set<std::string, std::less<>> named{
      "minutely", "hourly", "daily", "weekly", "monthly", "quarterly", "semiannually",
      "semi-annually", "yearly", "annually"};
  const auto tokens = words(schedule);
  if (tokens.size() == 1 && named.contains(lower(tokens[0]))) return lower(tokens[0]);
  const auto cron_char = [](char c) {
    return text::is_alnum(c) || c == '*' || c == ',' || c == '/' || c == '-';
  };
  const bool looks_like_cron =
      tokens.size() == 5 && std::all_of(tokens.begin(), tokens.end(), [&](const std::string& t) {
        return text::is_word(t, cron_char, cron_char);
      });
  if (looks_like_cron) {
    auto converted = cron_to_on_calendar(tokens);
    if (!converted) {
      return std::unexpected(fmt::format("invalid cron schedule '{}': {}", schedule, converted.error()));
    }
    return converted;
  }
  return check_on_calendar(schedule);
}

bool is_time_span(std::string_view span) {
  static const std::set<std::string, std::less<>> units{
      "us", "usec", "ms", "msec", "s", "sec", "second", "seconds", "m", "min", "minute",
      "minutes", "h", "hr", "hour", "hours", "d", "day", "days", "w", "week", "weeks"};
  std::size_t pos = 0;
  const auto skip_space = [&] {
    while (pos < span.size() && text::is_space(span[pos])) ++pos;
  };
  skip_space();
  if (span.substr(pos).starts_with("infinity")) {
    pos += 8;
    skip_space();
    return pos == span.size();
  }
  int pairs = 0;
  while (pos < span.size()) {
    const auto digits = text::scan_number(span, pos, true);
    if (digits == 0) return false;
    pos += digits;
    skip_space();
    const auto unit_start = pos;
    while (pos < span.size() && text::is_alpha(span[pos])) ++pos;
    const auto unit = span.substr(unit_start, pos - unit_start);
    if (!unit.empty() && !units.contains(unit)) return false;
    skip_space();
    ++pairs;
  }
  return pairs > 0;
}

}  // namespace berth::manifest
