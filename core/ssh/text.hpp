#pragma once

// Pure text helpers of the SSH transport: no libssh, no I/O, unit-tested.

#include <core/remote.hpp>

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace berth::ssh {

// Cuts a byte stream into lines. feed() may be called with any chunking; each
// complete line is passed to `emit` without its '\n' (a trailing '\r' is kept).
// finish() passes the last line when the stream did not end with '\n'.
class LineSplitter {
 public:
  explicit LineSplitter(std::function<void(std::string_view)> emit);

  void feed(std::string_view chunk);
  void finish();

 private:
  std::function<void(std::string_view)> emit_;
  std::string partial_;
};

// `text` as one POSIX sh word, single-quoted when it contains anything but
// [A-Za-z0-9_./:@%+=,-].
std::string shell_quote(std::string_view text);

// The exec command that runs a script written on stdin: `/bin/sh -s`, or
// `sudo -n /bin/sh -s` when `privilege` is root, `user` is not root and `become`
// is set (without `become`, the script runs as `user`).
std::string script_command(Privilege privilege, std::string_view user, bool become);

// The exec command that unpacks a tar stream read on stdin into `remote_dir`
// (created if missing), then lists the regular files it wrote (changed since two
// seconds before it started) with POSIX `cksum`: first their names, each ended by
// a NUL, then an empty name, then cksum's "CRC SIZE NAME" lines in the same order.
// Fails (non-zero exit) when tar, find or cksum does. Privilege as for
// script_command().
std::string upload_command(std::string_view remote_dir, Privilege privilege,
                           std::string_view user, bool become);

// POSIX `cksum` (CRC-32 with polynomial 0x04C11DB7 over the data, then over its
// length), computed incrementally; PCLMULQDQ when the CPU has it, so that checking
// a stream costs about as little as on the server's coreutils 9.
class Cksum {
 public:
  void update(std::string_view data);
  // What `cksum` prints for everything passed to update() so far.
  std::uint32_t value() const;
  std::uint64_t size() const { return size_; }

 private:
  std::uint32_t crc_ = 0;
  std::uint64_t size_ = 0;
};

// A regular file's size and POSIX cksum.
struct FileSum {
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
  bool operator==(const FileSum&) const = default;
};

// Regular files by path as tar extracts them: leading "/", "." components and
// repeated slashes dropped ("./a//b" is "a/b").
using FileSums = std::map<std::string, FileSum>;

// The path tar -x writes for member `name` (see FileSums).
std::string member_path(std::string_view name);

// Follows a tar stream (ustar, GNU long names, pax path/size headers) fed in any
// chunking and computes the cksum of every regular file in it; a hard link counts
// as a copy of its target, a later member replaces an earlier one of the same
// path. Stops at the end-of-archive block. finish() fails on a stream cut inside a
// member, a GNU sparse member, or a malformed header, naming the member.
class TarSums {
 public:
  void feed(std::string_view chunk);
  std::expected<FileSums, std::string> finish();

 private:
  enum class State { header, data, meta, skip, end };
  void header_done();
  void meta_done();

  State state_ = State::header;
  std::string header_;         // the 512-byte header being collected
  std::uint64_t left_ = 0;     // bytes of data, metadata or padding still to come
  std::uint64_t padding_ = 0;  // bytes up to the next 512-byte boundary after them
  char meta_type_ = 0;         // 'L', 'K' or 'x' while collecting metadata
  std::string meta_;
  std::string long_name_, long_link_;
  std::optional<std::uint64_t> pax_size_;
  std::string current_;  // path of the regular file being read
  Cksum sum_;
  std::string error_;
  FileSums files_;
};

// Parses what upload_command() prints. Fails when the output is cut or malformed.
std::expected<FileSums, std::string> parse_upload_listing(std::string_view out);

// The first file of `sent` that `received` lacks or holds with another size or
// cksum, as "PATH: sent 10 bytes (cksum 1), the server has 9 bytes (cksum 2)" or
// "PATH is missing on the server"; empty when every sent file arrived intact.
// Files only in `received` do not count.
std::string first_mismatch(const FileSums& sent, const FileSums& received);

// One line "CRC SIZE PATH\n" per file in path order: the input of the upload's
// digest, the same on both ends when every file arrived.
std::string sums_text(const FileSums& files);

// Whether an ssh_config text relaxes host key checking (StrictHostKeyChecking set
// to no, off or accept-new), which libssh would otherwise honour silently.
bool relaxes_host_key_checking(std::string_view config_text);

// `path` with a leading "~/" replaced by $HOME.
std::string expand_home(std::string_view path);

// "12.3 MB/s" for `bytes` moved in `ms` milliseconds ("-" when ms is 0).
std::string throughput(std::uint64_t bytes, std::chrono::milliseconds ms);

}  // namespace berth::ssh
