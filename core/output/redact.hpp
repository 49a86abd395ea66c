#pragma once

#include <string>
#include <string_view>

namespace berth {

// Adds `value` to the process-wide list of secret values. Values shorter than four
// characters are not registered (they would redact ordinary text). Thread-safe.
void register_secret_value(std::string_view value);

// `text` with every registered secret value replaced by "[secret]". Thread-safe.
std::string redact(std::string_view text);

}  // namespace berth
