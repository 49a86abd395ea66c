#include <core/util/net.hpp>

#include <arpa/inet.h>

#include <charconv>
#include <string>

namespace berth::util {

bool is_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const std::string address(text.substr(0, slash));
  unsigned char buffer[16];
  int limit = 0;
  if (inet_pton(AF_INET, address.c_str(), buffer) == 1) {
    limit = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), buffer) == 1) {
    limit = 128;
  } else {
    return false;
  }
  if (slash == std::string_view::npos) return true;
  const auto prefix = text.substr(slash + 1);
  int bits = -1;
  const auto [end, error] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), bits);
  return !prefix.empty() && prefix.size() <= 3 && error == std::errc() &&
         end == prefix.data() + prefix.size() && bits >= 0 && bits <= limit;
}

bool is_address(std::string_view text) { return text.find('/') == std::string_view::npos && is_cidr(text); }

}  // namespace berth::util
