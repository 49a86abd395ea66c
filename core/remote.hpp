#pragma once

// The seam between berth's logic (converge, deploy, health) and the transport.
// core/ssh/ implements it over libssh; tests/unit use a fake that records scripts.

#include <core/error.hpp>
#include <core/util/frame.hpp>

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

enum class Stream { out, err };

// What a remote script did. Its stdout is read as framed output (util/frame.hpp):
// the records it printed with `rec`, and its other text; what a login script printed
// before the script started is in neither.
struct ScriptResult {
  int exit_status = -1;              // -1 when killed by a signal
  std::string signal;                // e.g. "KILL" when killed by a signal, else empty
  std::vector<util::Record> records; // in the order printed
  bool ended = false;                // the script printed its end marker (rec_end)
  std::string out;                   // stdout outside the records
  std::string err;
  std::chrono::milliseconds duration{0};
};

// Called with each complete output line as it arrives (without the newline); record
// lines are not output lines.
using LineSink = std::function<void(Stream, std::string_view line)>;

// Called with each record as it arrives, so that a caller knows how far a script got
// even when the connection is lost before it ends.
using RecordSink = std::function<void(const util::Record&)>;

enum class Privilege { user, root };

// What an upload moved.
struct UploadResult {
  std::uint64_t bytes = 0;           // tar bytes sent
  // Hex SHA-1 of the sorted "CRC SIZE PATH" list of the regular files uploaded, each
  // checked on the server by size and POSIX cksum: the same for the same files,
  // whether sent from a folder or a tar file.
  std::string sha1;
  std::chrono::milliseconds duration{0};
};

// One managed host, reached by a long-lived connection.
class Remote {
 public:
  virtual ~Remote() = default;

  // The server's name in the manifest (used to prefix output and in errors).
  virtual const std::string& name() const = 0;

  // Runs `script` with `/bin/sh -s` (through `sudo -n` when `privilege` is root and
  // the login user is not root), writing the script on stdin after the prelude of a
  // fresh util::Frame, so that the script can report with `rec`, `rec_file` and
  // `rec_end` (ScriptResult::records, ::ended). Returns the result even
  // when the script exits non-zero; returns an Error only when the transport failed
  // (connection lost, timeout) or its framed output is broken, naming the host.
  virtual std::expected<ScriptResult, Error> run_script(std::string_view script,
                                                        Privilege privilege = Privilege::root,
                                                        const LineSink& sink = {},
                                                        const RecordSink& records = {}) = 0;

  // Streams `source` into `tar -x` in `remote_dir` (created if missing) through one
  // exec channel: a tar file is sent as is, a directory is packed on the fly by the
  // local `tar`. The server's SHA-1 of what it read must match the sent bytes (it
  // catches truncation and corruption; authenticity is SSH's job, and sha1sum costs
  // the server half the CPU of sha256sum). Returns an Error naming the host when the
  // transport, the remote tar or the checksum failed. Implementations without bulk
  // transfer return an Error.
  virtual std::expected<UploadResult, Error> upload_tar(const std::filesystem::path& source,
                                                        std::string_view remote_dir,
                                                        Privilege privilege = Privilege::root) {
    (void)source;
    (void)remote_dir;
    (void)privilege;
    return std::unexpected(Error(name() + ": uploads are not supported by this transport"));
  }

  // How many remote commands (exec channels) this connection has run so far.
  virtual int exec_count() const = 0;
};

}  // namespace berth
