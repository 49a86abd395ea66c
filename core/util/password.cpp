#include <core/util/hash.hpp>
#include <core/util/password.hpp>

#include <crypt.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace berth::util {

std::string sha512_crypt(std::string_view password, std::string_view salt_seed) {
  static constexpr std::string_view alphabet =
      "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  // 16 characters of crypt's salt alphabet from the seed's digest (4 bits each).
  const auto digest = sha256_hex(salt_seed);
  std::string setting = "$6$";
  for (std::size_t i = 0; i < 16; ++i) {
    const auto hex = digest.substr(i * 2, 2);
    setting += alphabet[std::stoi(hex, nullptr, 16) % alphabet.size()];
  }
  const std::string phrase(password);
  auto data = std::make_unique<crypt_data>();
  const char* hashed = crypt_r(phrase.c_str(), setting.c_str(), data.get());
  if (hashed == nullptr || hashed[0] == '*') throw std::runtime_error("crypt refused the password");
  return hashed;
}

}  // namespace berth::util
