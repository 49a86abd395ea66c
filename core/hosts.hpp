#pragma once

// Work over several hosts at once: the seam (Hosts: ssh::Fleet is the real one,
// tests/unit a fake), what became of each host (HostResult), and the two helpers every
// command shares: a failed script as an Error, and the exit status of a run.

#include <core/error.hpp>
#include <core/remote.hpp>

#include <cstddef>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

// What became of one host's part of a run.
struct HostResult {
  std::string host;
  // Why it failed: it could not be reached (ExitCode::unreachable, with a hint), its
  // connection broke, or its work returned an Error. The message names the host.
  std::optional<Error> error;
  bool skipped = false;              // not started: another host failed (--fail-fast)

  bool ok() const { return !error && !skipped; }
  bool unreachable() const { return error && error->code() == ExitCode::unreachable; }
};
using HostResults = std::vector<HostResult>;

// One host's work in a run: nothing, or why it failed.
using HostWork = std::function<std::expected<void, Error>(std::size_t index, Remote& remote)>;

// The hosts of a run, each reached by one long-lived connection (DESIGN.md invariant 1).
class Hosts {
 public:
  virtual ~Hosts() = default;

  // The number of hosts, and host i's name in the manifest.
  virtual std::size_t size() const = 0;
  virtual const std::string& name(std::size_t i) const = 0;
  // Whether a failing host stops the hosts not started yet (--fail-fast).
  virtual bool fail_fast() const = 0;

  // Runs work(i, remote) for every host in parallel, connecting hosts not connected
  // yet (or whose connection was lost since) first; a host that cannot be connected (now or earlier in this run) fails
  // without calling `work`. One result per host, in order. Rethrows the first
  // exception a work threw once every host has ended.
  virtual HostResults run(const HostWork& work) = 0;

  // Drops host i's connection and connect error: the next run() connects it again
  // (`berth health --watch`, when a host was down).
  virtual void forget(std::size_t i) = 0;
};

// The Error for a script that ran and exited non-zero: "HOST: WHAT failed (exit
// status N)" (or "killed by signal S"), then the last `lines` lines of its stderr
// (its stdout when stderr is empty), redacted.
Error script_failed(const Remote& remote, std::string_view what, const ScriptResult& result,
                    std::size_t lines = 10);

// `ran` as a success when the script exited 0, else script_failed() / its transport
// Error: the usual end of a host's work.
std::expected<void, Error> script_ok(const Remote& remote, std::string_view what,
                                     const std::expected<ScriptResult, Error>& ran,
                                     std::size_t lines = 10);

// A command's exit status from its hosts: ok when every host is, unreachable when one
// could not be reached, else the first failed host's code (failure when only skipped).
ExitCode exit_status(const HostResults& results);

}  // namespace berth
