#pragma once

// `berth plan` and `berth setup`: converge the selected hosts (plan only, or apply)
// and print the per-host reports.

#include <cli/cli.hpp>
#include <core/converge/engine.hpp>

namespace berth::cli {

enum class DetailedExitCode { no, yes };

// Loads the manifest, connects the selected hosts in parallel, converges each one in
// `mode` and prints the result (text or --json). Returns the exit status: 0 when every
// host succeeded, 1 when one failed, 5 when one was unreachable; in plan mode with
// DetailedExitCode::yes, 2 when something would change.
int run_converge(const GlobalOptions& global, Ui& ui, converge::Mode mode,
                 DetailedExitCode detailed = DetailedExitCode::no);

}  // namespace berth::cli
