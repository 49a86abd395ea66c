#include <core/util/hash.hpp>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace berth::util {
namespace {

std::string digest_hex(std::string_view data, const EVP_MD* md) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, md, nullptr);
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace

std::string sha256_hex(std::string_view data) { return digest_hex(data, EVP_sha256()); }

std::string sha1_hex(std::string_view data) { return digest_hex(data, EVP_sha1()); }

}  // namespace berth::util
