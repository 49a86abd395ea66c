#include <core/health/report.hpp>
#include <core/util/duration.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>

namespace berth::health {

namespace {

constexpr std::size_t max_observed = 40;

std::string shorten(std::string s, std::size_t max) {
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

std::string pad(std::string_view s, std::size_t width) {
  std::string out(s);
  if (out.size() < width) out.append(width - out.size(), ' ');
  return out;
}

std::string state(bool ok) { return ok ? "pass" : "FAIL"; }

// The first failing condition, as "[STATUS] == 200 (observed 503)".
std::string failure_of(const CheckResult& r) {
  for (const auto& c : r.conditions) {
    if (!c.ok) return fmt::format("{} (observed {})", c.condition, c.observed);
  }
  return r.error;
}

}  // namespace

std::string iso_time(std::chrono::system_clock::time_point at) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(at)));
}

std::vector<std::string> render_table(std::span<const CheckResult> results, const Ui& ui) {
  struct Row {
    std::array<std::string, 6> cells;
    std::optional<bool> ok;
    std::string note;                    // a whole line under the row
  };
  std::vector<Row> rows;
  rows.push_back({{"HOST", "CHECK", "STATUS", "OBSERVED", "CONDITION", "DURATION"}, std::nullopt, {}});
  std::string last_host;
  for (const auto& r : results) {
    const std::string host = r.host == last_host ? "" : r.host;
    last_host = r.host;
    const std::string duration = util::format_duration(r.duration);
    if (r.conditions.empty()) {
      rows.push_back({{host, r.name, state(r.ok), shorten(r.error, max_observed), "", duration}, r.ok, {}});
    }
    for (std::size_t i = 0; i < r.conditions.size(); ++i) {
      const auto& c = r.conditions[i];
      rows.push_back({{i == 0 ? host : "", i == 0 ? r.name : "", state(c.ok), shorten(c.observed, max_observed),
                       c.condition, i == 0 ? duration : ""},
                      c.ok,
                      {}});
    }
    if (!r.ok && !r.error.empty()) rows.back().note = "error: " + r.error;
    if (!r.ok) {
      for (const auto& d : r.details) {
        rows.push_back({{}, std::nullopt, "| " + d});
      }
    }
  }
  std::array<std::size_t, 6> widths{};
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < widths.size(); ++i) widths[i] = std::max(widths[i], row.cells[i].size());
  }
  std::vector<std::string> lines;
  const std::size_t indent = widths[0] + widths[1] + 4;
  for (std::size_t n = 0; n < rows.size(); ++n) {
    const auto& row = rows[n];
    if (!row.note.empty() && row.cells[2].empty()) {
      lines.push_back(std::string(indent, ' ') + ui.dim(row.note));
      continue;
    }
    std::string line;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      std::string cell = i + 1 == widths.size() ? row.cells[i] : pad(row.cells[i], widths[i]);
      if (n == 0) cell = ui.bold(cell);
      if (i == 2 && row.ok) cell = *row.ok ? ui.green(cell) : ui.red(cell);
      line += cell;
      if (i + 1 < widths.size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    lines.push_back(std::move(line));
    if (!row.note.empty()) lines.push_back(std::string(indent, ' ') + ui.red(row.note));
  }
  const auto failed = static_cast<std::size_t>(std::count_if(results.begin(), results.end(), [](const auto& r) { return !r.ok; }));
  const std::string summary = fmt::format("{} check{}: {} passed, {} failed", results.size(),
                                          results.size() == 1 ? "" : "s", results.size() - failed, failed);
  lines.push_back(failed == 0 ? ui.green(summary) : ui.red(summary));
  return lines;
}

nlohmann::json check_json(const CheckResult& r) {
  nlohmann::json conditions = nlohmann::json::array();
  for (const auto& c : r.conditions) {
    conditions.push_back({{"condition", c.condition}, {"ok", c.ok}, {"observed", c.observed}});
  }
  return {{"host", r.host},
          {"name", r.name},
          {"kind", r.kind},
          {"target", r.target},
          {"ok", r.ok},
          {"error", r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.error)},
          {"duration_ms", r.duration.count()},
          {"conditions", std::move(conditions)},
          {"details", r.details}};
}

nlohmann::json report_json(std::span<const CheckResult> results, std::chrono::system_clock::time_point at) {
  nlohmann::json checks = nlohmann::json::array();
  std::size_t passed = 0;
  for (const auto& r : results) {
    checks.push_back(check_json(r));
    if (r.ok) ++passed;
  }
  return {{"version", 1},
          {"checked_at", iso_time(at)},
          {"ok", passed == results.size()},
          {"summary", {{"total", results.size()}, {"passed", passed}, {"failed", results.size() - passed}}},
          {"checks", std::move(checks)}};
}

std::vector<Transition> transitions(std::span<const CheckResult> before, std::span<const CheckResult> now) {
  std::vector<Transition> out;
  for (const auto& r : now) {
    const auto it = std::find_if(before.begin(), before.end(),
                                 [&](const CheckResult& b) { return b.host == r.host && b.name == r.name; });
    std::optional<bool> was;
    if (it != before.end()) was = it->ok;
    if (!was || *was != r.ok) out.push_back({was, r});
  }
  return out;
}

std::string render_transition(const Transition& t, std::chrono::system_clock::time_point at, const Ui& ui) {
  const auto local = std::chrono::system_clock::to_time_t(at);
  const std::string from = t.before ? state(*t.before) : "new";
  std::string line = fmt::format("{:%H:%M:%S} {} {}: {} -> {}", fmt::localtime(local), t.now.host, t.now.name,
                                 from, t.now.ok ? ui.green("pass") : ui.red("FAIL"));
  if (!t.now.ok) line += " " + failure_of(t.now);
  return line;
}

nlohmann::json transition_json(const Transition& t, std::chrono::system_clock::time_point at) {
  return {{"event", "transition"},
          {"at", iso_time(at)},
          {"host", t.now.host},
          {"name", t.now.name},
          {"from", t.before ? nlohmann::json(*t.before ? "pass" : "fail") : nlohmann::json(nullptr)},
          {"to", t.now.ok ? "pass" : "fail"},
          {"check", check_json(t.now)}};
}

}  // namespace berth::health
