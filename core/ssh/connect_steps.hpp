#pragma once

// The steps of Session::connect() after the TCP connection: host key verification
// (known_hosts.cpp) and authentication (auth.cpp), and what they share with keys.cpp.
// Internal to core/ssh.

#include <core/error.hpp>
#include <core/ssh/session.hpp>

#include <libssh/libssh.h>

#include <expected>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace berth::ssh {

// A libssh key that frees itself.
struct KeyFree {
  void operator()(ssh_key key) const { ssh_key_free(key); }
};
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyFree>;

// Checks the server key of the connected `session` against `known_hosts` (and the
// global /etc/ssh/ssh_known_hosts). An unknown key is recorded in `known_hosts` with
// HostKeyPolicy::accept_new and refused otherwise, with its fingerprint and how to
// accept it; a changed key (or a key of another type) is always refused, naming the
// known_hosts line. Errors carry ExitCode::unreachable.
std::expected<void, Error> verify_host_key(ssh_session session, const Target& target,
                                           HostKeyPolicy policy, const std::string& known_hosts);

// Authenticates `session` as its user: the ssh-agent first (when SSH_AUTH_SOCK is
// set), then the target's identity file, the IdentityFile of ssh_config and the
// default ~/.ssh/id_{ed25519,ecdsa,rsa}. A passphrase is asked only on a terminal.
// When everything fails the Error (ExitCode::unreachable) lists what was tried.
std::expected<void, Error> authenticate(ssh_session session, const Target& target,
                                        std::string_view user);

// The 1-based numbers of the lines of the known_hosts file `path` whose host
// patterns (plain, wildcard or hashed) match `host` ("address", or "[address]:port"
// when the port is not 22); empty when none does or the file cannot be read.
std::vector<int> lines_naming(const std::filesystem::path& path, const std::string& host);

}  // namespace berth::ssh
