#include <core/output/redact.hpp>
#include <core/secret.hpp>

#include <algorithm>
#include <mutex>
#include <vector>

namespace berth {
namespace {

std::mutex& secrets_mutex() {
  static std::mutex m;
  return m;
}

std::vector<std::string>& secret_values() {
  static std::vector<std::string> values;
  return values;
}

}  // namespace

Secret::Secret(std::string value) : value_(std::move(value)) { register_secret_value(value_); }

void register_secret_value(std::string_view value) {
  if (value.size() < 4) return;
  std::lock_guard lock(secrets_mutex());
  auto& values = secret_values();
  if (std::find(values.begin(), values.end(), value) != values.end()) return;
  values.emplace_back(value);
  // Longest first, so that a secret containing another is replaced whole.
  std::sort(values.begin(), values.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string redact(std::string_view text) {
  std::string out(text);
  std::lock_guard lock(secrets_mutex());
  for (const auto& value : secret_values()) {
    for (auto pos = out.find(value); pos != std::string::npos;
         pos = out.find(value, pos + Secret::placeholder.size())) {
      out.replace(pos, value.size(), Secret::placeholder);
    }
  }
  return out;
}

}  // namespace berth
