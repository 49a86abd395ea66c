#pragma once

// What an upload checks (ssh::Session::upload_tar): the POSIX cksum of every regular
// file in the tar stream as it is sent, against the server's listing after `tar -x`
// (upload_command in text.hpp). Pure: no libssh, no I/O, unit-tested.

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace berth::ssh {

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

}  // namespace berth::ssh
