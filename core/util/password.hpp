#pragma once

// Password hashes in crypt(3)'s forms, as web servers' basic-auth files hold them.

#include <string>
#include <string_view>

namespace berth::util {

// `password` hashed with SHA-512 crypt ("$6$SALT$HASH", what nginx's auth_basic_user_file
// and htpasswd -5 read), salted with `salt_seed` made into 16 salt characters: the same
// inputs give the same hash, so that a file of hashes only changes when a password
// does. Throws std::runtime_error when the system's crypt refuses (never for valid
// UTF-8 text without NUL).
std::string sha512_crypt(std::string_view password, std::string_view salt_seed);

}  // namespace berth::util
