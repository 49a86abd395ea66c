#pragma once

// SSH key pairs berth makes for servers (the key a db server uses to reach the backup
// server's SFTP), through libssh: no ssh-keygen on the controller.

#include <core/error.hpp>

#include <expected>
#include <string>
#include <string_view>

namespace berth::ssh {

// A fresh ed25519 private key in OpenSSH's format ("-----BEGIN OPENSSH PRIVATE KEY-----"),
// unencrypted, ending with a newline. Throws berth::Error when libssh cannot make one.
std::string generate_ed25519_key();

// The public half of `private_key` (as generate_ed25519_key() gives it) as one
// authorized_keys line without a comment: "ssh-ed25519 AAAA...". Fails when the text
// is not a private key libssh reads.
std::expected<std::string, Error> public_key_of(std::string_view private_key);

}  // namespace berth::ssh
