#pragma once

namespace berth {

// Exit statuses of the berth binary. `berth --help` prints this table (exit_code_help),
// so CI pipelines can rely on it.
enum class ExitCode : int {
  ok = 0,               // the command did what was asked
  failure = 1,          // it ran and failed: invalid manifest, a host failed, unhealthy
  changes_pending = 2,  // `plan --detailed-exitcode`: something would change
  // 3 is left unused: it meant "not implemented yet" while commands were being built.
  lock_held = 4,        // another berth run holds the deploy lock
  unreachable = 5,      // a host could not be reached: connect, auth or host key
  usage = 64,           // wrong arguments
  internal = 70,        // a bug in berth
};

// The exit-status table as printed in `berth --help`.
inline constexpr const char* exit_code_help =
    "Exit status:\n"
    "  0   success\n"
    "  1   failure (invalid manifest, a host or step failed, unhealthy)\n"
    "  2   plan --detailed-exitcode: changes pending\n"
    "  4   the deploy lock is held by another run\n"
    "  5   a host is unreachable (connection, authentication, host key)\n"
    "  64  usage error\n"
    "  70  internal error (a bug: please report it)\n";

}  // namespace berth
