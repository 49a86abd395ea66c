#pragma once

// What `berth plan`, `berth setup` and `berth run` share: run a playbook over the
// selected hosts and print its report.

#include <cli/cli.hpp>
#include <core/converge/engine.hpp>

#include <string>

namespace berth::cli {

enum class DetailedExitCode { no, yes };

// Loads the manifest, selects and connects the hosts, runs playbook `name` in `mode`
// and prints the result (text or --json). Returns the exit status: 0 when every step
// succeeded, 1 when one failed, 5 when a host was unreachable; in plan mode with
// DetailedExitCode::yes, 2 when something would change.
int run_playbook_command(const GlobalOptions& global, Ui& ui, const std::string& name,
                         converge::Mode mode, DetailedExitCode detailed = DetailedExitCode::no);

}  // namespace berth::cli
