#pragma once

#include <chrono>

namespace berth::util {

// Milliseconds of the steady clock since `start`, for durations in reports.
inline std::chrono::milliseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

}  // namespace berth::util
