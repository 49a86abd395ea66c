#include <core/hosts.hpp>
#include <core/output/redact.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

namespace berth {

Error script_failed(const Remote& remote, std::string_view what, const ScriptResult& result,
                    std::size_t lines) {
  const auto how = result.signal.empty() ? fmt::format("exit status {}", result.exit_status)
                                         : fmt::format("killed by signal {}", result.signal);
  auto message = fmt::format("{}: {} failed ({})", remote.name(), what, how);
  const auto tail = util::tail_lines(result.err.empty() ? result.out : result.err, lines);
  if (!tail.empty()) message += "\n" + redact(tail);
  return Error(std::move(message));
}

std::expected<void, Error> script_ok(const Remote& remote, std::string_view what,
                                     const std::expected<ScriptResult, Error>& ran,
                                     std::size_t lines) {
  if (!ran) return std::unexpected(ran.error());
  if (ran->exit_status != 0) return std::unexpected(script_failed(remote, what, *ran, lines));
  return {};
}

ExitCode exit_status(const HostResults& results) {
  std::optional<ExitCode> first;
  for (const auto& r : results) {
    if (r.unreachable()) return ExitCode::unreachable;
    if (!first && r.error) first = r.error->code();
    if (!first && r.skipped) first = ExitCode::failure;
  }
  return first.value_or(ExitCode::ok);
}

}  // namespace berth
