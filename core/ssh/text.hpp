#pragma once

// Pure text helpers of the SSH transport: no libssh, no I/O, unit-tested.

#include <core/remote.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace berth::ssh {


// The exec command that runs a script written on stdin: `/bin/sh -s`, or
// `sudo -n /bin/sh -s` when `privilege` is root, `user` is not root and `become`
// is set (without `become`, the script runs as `user`).
std::string script_command(Privilege privilege, std::string_view user, bool become);

// The exec command that unpacks a tar stream read on stdin into `remote_dir`
// (created if missing), then lists the regular files it wrote (changed since two
// seconds before it started) with POSIX `cksum` in one record of `frame` ("upload
// listing"): first their names, each ended by a NUL, then an empty name, then
// cksum's "CRC SIZE NAME" lines in the same order. Fails (non-zero exit) when tar,
// find or cksum does. Privilege as for script_command().
std::string upload_command(std::string_view remote_dir, Privilege privilege,
                           std::string_view user, bool become, const util::Frame& frame);

// Whether an ssh_config text relaxes host key checking (StrictHostKeyChecking set
// to no, off or accept-new), which libssh would otherwise honour silently.
bool relaxes_host_key_checking(std::string_view config_text);

// `path` with a leading "~/" replaced by $HOME, as the shell that wrote it would:
// for paths the user wrote in berth.toml.
std::string expand_home(std::string_view path);

// `path` with a leading "~/" replaced by the user's home from the passwd database
// ($HOME only when it has none), where libssh and OpenSSH look for ~/.ssh: for the
// files berth reads on their behalf (~/.ssh/config, the default known_hosts and
// identity files), so that a $HOME that differs (sudo, CI containers) does not make
// berth read another ~/.ssh than the one libssh applies.
std::string expand_ssh_home(std::string_view path);

// "12.3 MB/s" for `bytes` moved in `ms` milliseconds ("-" when ms is 0).
std::string throughput(std::uint64_t bytes, std::chrono::milliseconds ms);

}  // namespace berth::ssh
