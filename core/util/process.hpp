#pragma once

// Running local programs (a small wrapper over Boost.Process v1). Generic: it knows
// nothing of berth beyond its Error type. stdout and stderr are read asynchronously
// on one io_context, so a child that fills one pipe while we read the other never
// deadlocks (see DESIGN.md, Boost.Process pitfalls).

#include <core/error.hpp>

#include <chrono>
#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

// How to run a program. argv[0] is looked up in PATH unless it contains a '/'.
struct ProcessOptions {
  std::optional<std::string> stdin_text;             // written to the child's stdin, then closed;
                                                     // nullopt: stdin is /dev/null
  std::filesystem::path cwd;                         // empty: the current folder
  std::map<std::string, std::string> env;            // set (or overridden) on top of ours
  std::optional<std::chrono::milliseconds> timeout;  // killed (SIGKILL) when exceeded
};

// What a finished program did.
struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal (or by the timeout)
  bool timed_out = false;
  std::string out;
  std::string err;

  bool ok() const noexcept { return exit_code == 0; }
  // The last `lines` lines of err (or of out when err is empty), for error messages.
  std::string tail(int lines = 10) const;
};

enum class OutputStream { out, err };

// Called with each complete output line (without its newline) as it arrives; a last
// line without a newline is delivered at the end.
using OutputLineSink = std::function<void(OutputStream, std::string_view line)>;

// Runs argv to completion and captures stdout and stderr. A non-zero exit is not an
// error (look at exit_code); returns an Error only when the program could not be
// started (not found, not executable), naming it.
std::expected<ProcessResult, Error> run_process(const std::vector<std::string>& argv,
                                                const ProcessOptions& options = {});

// Like run_process, and also calls `sink` with every line as it arrives (the result
// still holds everything). The sink runs on the calling thread.
std::expected<ProcessResult, Error> run_process_streaming(const std::vector<std::string>& argv,
                                                          const OutputLineSink& sink,
                                                          const ProcessOptions& options = {});

// Starts argv in the background in a new session (setsid), detached from us: stdin
// from /dev/null, stdout and stderr appended to `log_file`. Returns its PID; an Error
// when it could not be started or the log file could not be opened.
std::expected<int, Error> spawn_detached(const std::vector<std::string>& argv,
                                         const std::filesystem::path& log_file);

// The full path of program `name` found in PATH (or `name` itself when it holds a
// '/' and exists); nullopt when there is none.
std::optional<std::filesystem::path> find_program(std::string_view name);

// The program's command line in a form fit for messages ("ip link add ...").
std::string describe_command(const std::vector<std::string>& argv);

}  // namespace berth
