#pragma once

// Schedules and time spans as written in berth.toml, checked offline.

#include <expected>
#include <string>
#include <string_view>

namespace berth::manifest {

// The systemd OnCalendar form of a job schedule. `schedule` is either a 5-field cron
// expression (minute hour day-of-month month day-of-week, with *, lists, ranges and
// */steps; "30 8 * * 1-5" -> "Mon..Fri *-*-* 08:30:00"), a named schedule (minutely,
// hourly, daily, weekly, monthly, quarterly, semiannually, yearly, annually), or an
// OnCalendar expression, which passes through after a syntax sanity check. Fails with
// a message saying what is wrong (for a Diagnostic).
std::expected<std::string, std::string> to_on_calendar(std::string_view schedule);

// Whether `span` is a systemd time span berth accepts: "infinity" or one or more
// number+unit pairs (us, ms, s, m, min, h, d, w; a bare number means seconds), e.g.
// "90s", "1h 30min", "500ms".
bool is_time_span(std::string_view span);

}  // namespace berth::manifest
