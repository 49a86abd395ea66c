#pragma once

// berth's SSH transport: one libssh session per host, kept for the whole run
// (DESIGN.md invariants 1, 5 and 7).

#include <core/error.hpp>
#include <core/manifest/manifest.hpp>
#include <core/remote.hpp>
#include <core/ssh/text.hpp>
#include <core/ssh/upload_check.hpp>

#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

// libssh's handles, declared here so that its header stays inside core/ssh/.
struct ssh_session_struct;
struct ssh_channel_struct;

namespace berth::ssh {

// The libssh version berth runs with, e.g. "0.10.6/openssl/zlib".
std::string library_version();

// Where and as whom to connect: a [servers.NAME] entry. Values left at their
// defaults (user root, port 22, empty paths) let ~/.ssh/config decide.
struct Target {
  std::string name;            // used in output and errors
  std::string address;         // IP, DNS name or a Host alias of ~/.ssh/config
  int port = 22;
  std::string user = "root";
  bool become = true;          // sudo -n for root work when user is not root
  std::string identity_file;   // tried before the agent's keys and the default files
  std::string known_hosts;     // replaces ~/.ssh/known_hosts when set
  std::string proxy_jump;      // [user@]host[:port], run by the local OpenSSH `ssh`
};

// The Target of a manifest server.
Target target_of(const manifest::Server& server);

// What to do with a host key that is not in known_hosts. A changed key is always
// refused.
enum class HostKeyPolicy { refuse_unknown, accept_new };

// How Session::connect() behaves, the same for every host of a run.
struct Options {
  HostKeyPolicy host_keys = HostKeyPolicy::refuse_unknown;
  // TCP connect plus key exchange plus authentication.
  std::chrono::seconds connect_timeout{15};
  // A connection that stops answering is declared lost after about this long
  // (TCP keepalives and TCP_USER_TIMEOUT), even while a command prints nothing.
  std::chrono::seconds dead_after{30};
  // Called with warnings (a relaxed StrictHostKeyChecking in ssh_config); may be empty.
  std::function<void(std::string_view)> warn;
};

// A connected, authenticated SSH session to one host. One thread at a time may use
// it (libssh's rule); different Sessions may be used by different threads at once.
class Session final : public Remote {
 public:
  // Connects, checks the host key against known_hosts (recording an unknown one only
  // with HostKeyPolicy::accept_new) and authenticates (agent, then identity files;
  // never prompts without a terminal). Fails with ExitCode::unreachable and a
  // message naming the host and the step (connect, host key, auth) and what to do.
  static std::expected<std::unique_ptr<Session>, Error> connect(const Target& target,
                                                                const Options& options);
  // Disconnects.
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The manifest name of the host.
  const std::string& name() const override { return target_.name; }
  // The login user after ~/.ssh/config was applied.
  const std::string& user() const { return user_; }
  // Whether the connection is still up (a lost one is not used again: see Fleet::run).
  bool connected() const;

  // See Remote::run_script. Transport errors name the host and the step ("exec"),
  // how long the script had run and the tail of its stderr so far.
  std::expected<ScriptResult, Error> run_script(std::string_view script,
                                                Privilege privilege = Privilege::root,
                                                const LineSink& sink = {},
                                                const RecordSink& records = {}) override;

  // See Remote::upload_tar. After the remote tar, every regular file of the stream
  // is checked by size and POSIX cksum on the server; UploadResult::sha1 is the
  // SHA-1 of that list (sums_text()). Errors name the host and the step ("upload"):
  // a local tar failure, the remote tar's exit status and stderr, or the first
  // missing or different file.
  std::expected<UploadResult, Error> upload_tar(const std::filesystem::path& source,
                                                std::string_view remote_dir,
                                                Privilege privilege = Privilege::root) override;

  // Exec channels opened so far (scripts and uploads).
  int exec_count() const override { return exec_count_; }

 private:
  Session(Target target, ssh_session_struct* session, std::string user,
          std::chrono::seconds reply_timeout);

  // "NAME: STEP: what libssh said" as an Error.
  Error failure(std::string_view step, std::string_view what) const;
  // Opens a session channel and starts `command` on it.
  std::expected<ssh_channel_struct*, Error> open_exec(std::string_view step, const std::string& command);
  // Sends the tar stream read from `fd` until EOF on `channel`, and sets
  // `sent_files` to the cksums of its files. Fails when sending fails or the
  // stream cannot be followed as a tar (see TarSums).
  std::expected<UploadResult, Error> stream_fd(ssh_channel_struct* channel, int fd, FileSums* sent_files);

  Target target_;
  ssh_session_struct* session_;
  std::string user_;
  // The connection's TCP socket, or -1 when a ProxyCommand (ProxyJump) carries it:
  // decides once how replies are acknowledged and whether uploads are paced.
  int tcp_fd_;
  // How long a channel request waits for sshd's reply (the connect timeout).
  std::chrono::seconds reply_timeout_;
  int exec_count_ = 0;
};

}  // namespace berth::ssh
