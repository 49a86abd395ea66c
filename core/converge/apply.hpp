#pragma once

// The apply: one generated POSIX sh script per stage that changes only what the plan
// says differs, writes files atomically (temp file in the same folder, then rename),
// validates configs before they take effect (restoring the previous file when
// validation fails), stops at the first failing step, and runs the stage's handlers
// once at its end. Steps report on stdout with markers "@@step ID begin|ok|failed RC";
// everything the commands print goes to stderr.

#include <core/converge/plan.hpp>
#include <core/converge/resource.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::converge {

// The script applying the changes of `stage` (nullopt-like empty string when none).
// Step ids are resource indexes; handler steps are "h:NAME".
std::string render_apply(Stage stage, const std::vector<Resource>& resources,
                         const std::vector<Change>& changes);

enum class StepStatus { pending, begun, ok, unchanged, failed };

// What the markers of an apply run said.
struct ApplyReport {
  std::map<std::string, StepStatus> steps;   // by step id
  std::string failed_step;                   // empty when none failed
  int failed_exit_code = 0;
};

ApplyReport parse_apply(std::string_view output);

// The shell test that is true when command `c` need not run (its creates/unless).
std::string guard_test(const Command& c);

// The handlers triggered by the changed resources of `stage`, deduplicated, in the
// order they run: "daemon-reload" first, then the others in order of appearance.
std::vector<std::string> triggered_handlers(Stage stage, const std::vector<Resource>& resources,
                                            const std::vector<Change>& changes);

}  // namespace berth::converge
