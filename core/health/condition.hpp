#pragma once

// Health conditions in Gatus's style: `[STATUS] == 200`, `[STATUS] == any(200, 204)`,
// `[RESPONSE_TIME] < 300`, `[BODY].db == ok`, `len([BODY].items) > 0`,
// `[CERTIFICATE_EXPIRATION] > 240h`, `[CONNECTED] == true`, `[BODY] == pat(*ok*)`,
// `has([BODY].errors) == false`. A condition is parsed once into a small AST (so a
// malformed one is reported with its column before anything runs) and then evaluated
// against what a check observed. docs/health.md is the reference.

#include <chrono>
#include <cstddef>
#include <expected>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace berth::health {

// A named value observed by a server-side check (disk percent, unit state, ...).
using NamedValue = std::variant<bool, double, std::chrono::milliseconds, std::string>;

// What one check observed. Every member is optional: a condition on a value that was
// not observed fails and says so ("missing"), it never throws.
struct Observation {
  std::optional<int> status;                                   // [STATUS]: HTTP status
  std::optional<std::string> body;                             // [BODY]: response body
  std::optional<std::chrono::milliseconds> response_time;      // [RESPONSE_TIME]
  std::optional<std::chrono::milliseconds> certificate_expiration;  // [CERTIFICATE_EXPIRATION]
  std::optional<bool> connected;                               // [CONNECTED]
  // Other placeholders, by name without brackets: [DISK_USED_PERCENT] reads
  // values["DISK_USED_PERCENT"]. A string value may hold JSON and take a path.
  std::map<std::string, NamedValue, std::less<>> values;
};

// The comparison of a condition.
enum class Op { eq, ne, lt, le, gt, ge };

// One step of a JSON path: `.key` or `[index]`.
struct PathStep {
  std::string key;                       // used when index is empty
  std::optional<std::size_t> index;
};

// One side of a condition.
struct Operand {
  enum class Kind { placeholder, literal, len, has, pat, any };
  Kind kind = Kind::literal;
  std::string name;                      // placeholder name (STATUS, BODY, ...) for placeholder/len/has
  std::vector<PathStep> path;            // JSON path after the placeholder
  std::string text;                      // literal text, or the pattern of pat()
  std::vector<std::string> choices;      // the values of any()
  int column = 1;                        // 1-based column in the condition text
};

// A parsed condition.
struct Condition {
  std::string text;                      // as written
  Operand left;
  Op op = Op::eq;
  Operand right;
};

// Why a condition is malformed: the 1-based column within the condition text where
// the problem is, and what is wrong ("unknown placeholder [STAUS]; did you mean [STATUS]?").
struct ConditionError {
  int column = 1;
  std::string message;
};

// Parses `text`. The placeholders known are STATUS, BODY, RESPONSE_TIME,
// CERTIFICATE_EXPIRATION and CONNECTED, plus `extra_placeholders` (names without
// brackets, for server-side checks). Fails with the column of the first problem:
// a missing or unknown operator, an unknown placeholder or function, a path on a
// placeholder that is not JSON, any()/pat() on the left or with an ordering operator,
// a literal that cannot match its placeholder's type (`[STATUS] == ok`), trailing text.
std::expected<Condition, ConditionError> parse_condition(
    std::string_view text, std::span<const std::string> extra_placeholders = {});

// For the manifest validator: nothing when `text` is a valid condition of a
// [[health]] check, else {column within text (1-based), message}.
std::optional<std::pair<int, std::string>> condition_error(std::string_view text);

// The outcome of one condition against one observation.
struct Evaluation {
  bool ok = false;
  std::string observed;                  // what the placeholder side resolved to ("503", "1.2s", "(missing: ...)")
};

// Evaluates `condition` against `observation`. Never throws: a missing value, a body
// that is not JSON or a path that does not exist make the condition fail, and
// `observed` says why.
Evaluation evaluate(const Condition& condition, const Observation& observation);

// "==", "!=", "<", "<=", ">", ">=".
std::string_view to_string(Op op);

}  // namespace berth::health
