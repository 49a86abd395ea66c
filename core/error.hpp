#pragma once

#include <core/exit_code.hpp>

#include <stdexcept>
#include <string>

namespace berth {

// The one error type of berth. Low-level wrappers return std::expected<T, Error>;
// higher layers throw it; cli/main.cpp catches it once, prints `message` (and `hint`
// when set) and exits with `code`.
class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, ExitCode code = ExitCode::failure, std::string hint = {})
      : std::runtime_error(std::move(message)), code_(code), hint_(std::move(hint)) {}

  ExitCode code() const noexcept { return code_; }
  // What the user can do next ("run with --accept-new-host-keys", ...); may be empty.
  const std::string& hint() const noexcept { return hint_; }

 private:
  ExitCode code_;
  std::string hint_;
};

}  // namespace berth
