#pragma once

// Digests of in-memory data, as lowercase hex (OpenSSL's EVP).

#include <string>
#include <string_view>

namespace berth::util {

// SHA-256 of `data`, lowercase hex (64 characters).
std::string sha256_hex(std::string_view data);

// SHA-1 of `data`, lowercase hex (40 characters).
std::string sha1_hex(std::string_view data);

}  // namespace berth::util
