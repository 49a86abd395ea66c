#pragma once

// The apply: one generated POSIX sh script per stage that changes only what the plan
// says differs, writes files atomically (temp file in the same folder, then rename),
// validates configs before they take effect (restoring the previous file when
// validation fails), stops at the first failing step, and runs the stage's handlers
// once at its end. Steps report with framed records (util/frame.hpp) "ID step
// begin|ok|unchanged|failed RC"; everything the commands print goes to stderr.
//
// Owed work: before a step makes a change that has handlers, it records each of them
// as owed on the server (/var/lib/berth/owed/HANDLER); a handler clears its record
// only once it succeeded. A run cut off anywhere in between leaves the record, the
// next probe reports it, and the next apply runs it: nothing is lost to a dropped
// connection.

#include <core/converge/plan.hpp>
#include <core/converge/resource.hpp>
#include <core/util/frame.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::converge {

// The folder of owed-handler records on a server, and the file that records `handler`.
inline constexpr std::string_view owed_dir = "/var/lib/berth/owed";
std::string owed_record(std::string_view handler);

// A handler "release:APP" means the app's live release must start again with what
// changed (its environment, its unit): a blue/green restart through the release
// playbook `restart` (core/deploy), never a `systemctl restart`. The apply only
// records it as owed; the command runs the restart after the converge, and the
// release's finalize clears the record.
inline constexpr std::string_view release_handler_prefix = "release:";
bool is_deferred(std::string_view handler);

// The options of every apt-get call that changes packages: no questions, the dpkg lock
// waited for (a fresh VPS's boot-time jobs hold it), a changed config file kept.
inline constexpr std::string_view apt_get_options =
    "-q -y -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";

// Where owed handlers run: at the end of the config stage (merged with the handlers
// its own changes trigger), where files and units, which all handlers follow, are in place.
inline constexpr Stage owed_stage = Stage::config;

// The script applying the changes of `stage` and running `owed` handlers (empty
// string when there is nothing to do). A handler named in `scripts` runs those lines
// instead of its built-in form. Step ids are resource indexes; handler steps are "h:NAME".
std::string render_apply(Stage stage, const std::vector<Resource>& resources,
                         const std::vector<Change>& changes,
                         const std::vector<std::string>& owed = {},
                         const std::map<std::string, std::string>& scripts = {});

enum class StepStatus { pending, begun, ok, unchanged, failed };

// What the markers of an apply run said.
struct ApplyReport {
  std::map<std::string, StepStatus> steps;   // by step id
  std::string failed_step;                   // empty when none failed
  int failed_exit_code = 0;
};

// Reads the step records of an apply run.
ApplyReport parse_apply(const std::vector<util::Record>& records);
// Adds one record to `report` (records that are not step records are ignored), for
// reading them as they arrive.
void note_step(ApplyReport& report, const util::Record& record);

// Where the last validated version of a file with a `validate` command is kept while
// a new one is being validated (or "PATH.none" when there was none). Its presence
// on a server means a run was cut off before the file in place passed validation.
std::string validation_backup(std::string_view path);

// The shell test that is true when command `c` need not run (its creates/unless).
std::string guard_test(const Command& c);

// The handlers triggered by the changed resources of `stage`, then the `owed` ones,
// deduplicated, in the order they run: "daemon-reload" first, then the others in
// order of appearance. Deferred ones (is_deferred) are in the list; the apply
// script leaves them owed.
std::vector<std::string> triggered_handlers(Stage stage, const std::vector<Resource>& resources,
                                            const std::vector<Change>& changes,
                                            const std::vector<std::string>& owed = {});

// Whether `handler` is one the apply knows ("daemon-reload", "reload:UNIT",
// "restart:UNIT", "reexec:UNIT" with a plain unit name, "release:APP"): owed records
// read from a server are taken only when they are.
bool known_handler(std::string_view handler);

}  // namespace berth::converge
