#pragma once

#include <string>
#include <string_view>

namespace berth::util {

// A unified diff (3 lines of context) turning `before` into `after`, with headers
// "--- before_name" / "+++ after_name"; empty when they are equal. Line based
// (longest common subsequence); meant for config files, quadratic in their lines, so
// inputs over 5000 lines give a one-line summary instead.
std::string unified_diff(std::string_view before, std::string_view after,
                         std::string_view before_name, std::string_view after_name);

}  // namespace berth::util
