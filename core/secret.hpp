#pragma once

#include <string>
#include <string_view>

namespace berth {

// A secret value (password, token, key). It never converts to a string implicitly:
// code that needs the value calls reveal(), and every Secret constructed registers
// its value with the process-wide redaction list (core/output/redact.hpp), so that
// the value is replaced by "[secret]" in every line berth prints.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value);

  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }
  // What may be shown in place of the value.
  static constexpr std::string_view placeholder = "[secret]";

  friend bool operator==(const Secret&, const Secret&) = default;

 private:
  std::string value_;
};

}  // namespace berth
