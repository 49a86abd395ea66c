#include <core/util/process.hpp>
#include <core/util/text.hpp>

#include <algorithm>

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace berth {

namespace bp = boost::process;

std::string describe_command(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) {
    if (!text.empty()) text += ' ';
    const bool plain =
        !arg.empty() && arg.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos;
    if (plain) {
      text += arg;
    } else {
      text += '\'';
      for (char c : arg)
        text += c == '\'' ? std::string("'\\''") : std::string(1, c);
      text += '\'';
    }
  }
  return text;
}

std::string ProcessResult::tail(int lines) const {
  return util::tail_lines(err.empty() ? out : err, static_cast<std::size_t>(std::max(lines, 0)));
}

std::optional<std::filesystem::path> find_program(std::string_view name) {
  if (name.find('/') != std::string_view::npos) {
    std::error_code ec;
    if (std::filesystem::exists(name, ec)) return std::filesystem::path(name);
    return std::nullopt;
  }
  auto found = bp::search_path(std::string(name));
  if (found.empty()) return std::nullopt;
  return std::filesystem::path(found.string());
}

namespace {

std::expected<boost::filesystem::path, Error> locate(const std::string& name) {
  if (name.find('/') != std::string::npos) return boost::filesystem::path(name);
  auto found = bp::search_path(name);
  if (found.empty()) {
    return std::unexpected(
        Error("program not found: " + name, ExitCode::failure,
              "install it (Debian: apt-get install the package that provides `" + name + "`)"));
  }
  return found;
}

// Reads one pipe until EOF, appending to `text` and handing complete lines to `sink`.
class PipeReader {
public:
  PipeReader(bp::async_pipe& pipe, std::string& text, OutputStream stream,
             const OutputLineSink& sink)
      : pipe_(pipe), text_(text), stream_(stream), sink_(sink) {}

  void start() {
    pipe_.async_read_some(boost::asio::buffer(buffer_),
                          [this](const boost::system::error_code& ec, std::size_t n) {
                            text_.append(buffer_.data(), n);
                            deliver_lines(false);
                            if (!ec)
                              start();
                            else
                              deliver_lines(true);
                          });
  }

private:
  void deliver_lines(bool at_end) {
    if (!sink_) return;
    for (;;) {
      const auto newline = text_.find('\n', delivered_);
      if (newline == std::string::npos) break;
      sink_(stream_, std::string_view(text_).substr(delivered_, newline - delivered_));
      delivered_ = newline + 1;
    }
    if (at_end && delivered_ < text_.size()) {
      sink_(stream_, std::string_view(text_).substr(delivered_));
      delivered_ = text_.size();
    }
  }

  bp::async_pipe& pipe_;
  std::string& text_;
  OutputStream stream_;
  const OutputLineSink& sink_;
  std::array<char, 8192> buffer_{};
  std::size_t delivered_ = 0;
};

class SigpipeGuard {
public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      const timespec no_wait{};
      while (sigtimedwait(&pipe_, nullptr, &no_wait) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

std::expected<ProcessResult, Error> run(const std::vector<std::string>& argv,
                                        const OutputLineSink& sink, const ProcessOptions& options) {
  if (argv.empty()) return std::unexpected(Error("run_process: empty command", ExitCode::internal));
  auto exe = locate(argv[0]);
  if (!exe) return std::unexpected(exe.error());
  const std::vector<std::string> args(argv.begin() + 1, argv.end());

  bp::environment env = boost::this_process::environment();
  // set(), not env[key]: operator[] looks keys up with a memcmp that reads past the
  // end of shorter entries (AddressSanitizer reports it); set() checks sizes first.
  for (const auto& [key, value] : options.env) env.set(key, value);

  boost::asio::io_context ioc;
  bp::async_pipe in_pipe(ioc), out_pipe(ioc), err_pipe(ioc);
  ProcessResult result;
  bp::child child;
  try {
    // Without a cwd the child inherits ours, even when that folder was removed
    // (current_path() would fail there: `sandbox down` runs from inside a sandbox).
    if (options.cwd.empty()) {
      child = bp::child(*exe, bp::args(args), bp::std_in<in_pipe, bp::std_out> out_pipe,
                        bp::std_err > err_pipe, env);
    } else {
      child = bp::child(*exe, bp::args(args), bp::std_in<in_pipe, bp::std_out> out_pipe,
                        bp::std_err > err_pipe, bp::start_dir(options.cwd.string()), env);
    }
  } catch (const bp::process_error& e) {
    return std::unexpected(
        Error("cannot start `" + describe_command(argv) + "`: " + e.what(), ExitCode::failure));
  }

  // Writing to a child that exited without reading its stdin raises SIGPIPE, which
  // would kill us. Blocked here (after the fork, so the child's mask is untouched),
  // the signal stays pending on this thread and is discarded below; the write just
  // fails with EPIPE.
  SigpipeGuard sigpipe_guard;
  PipeReader out_reader(out_pipe, result.out, OutputStream::out, sink);
  PipeReader err_reader(err_pipe, result.err, OutputStream::err, sink);
  out_reader.start();
  err_reader.start();
  // The text must outlive the async write; the pipe is closed once it is written so
  // that the child sees EOF.
  const std::string input = options.stdin_text.value_or("");
  if (input.empty()) {
    in_pipe.close();
  } else {
    boost::asio::async_write(
        in_pipe, boost::asio::buffer(input),
        [&in_pipe](const boost::system::error_code&, std::size_t) { in_pipe.close(); });
  }

  if (options.timeout) {
    ioc.run_for(*options.timeout);
    if (!ioc.stopped()) {
      // A grandchild may still hold the pipes open: stop reading instead of draining.
      result.timed_out = true;
      std::error_code ignored;
      child.terminate(ignored);
      if (in_pipe.is_open()) in_pipe.close();
      out_pipe.close();
      err_pipe.close();
      ioc.restart();
      ioc.run();
    }
  } else {
    ioc.run();
  }

  std::error_code wait_error;
  child.wait(wait_error);
  const int status = child.native_exit_code();
  result.exit_code = (!result.timed_out && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace

std::expected<ProcessResult, Error> run_process(const std::vector<std::string>& argv,
                                                const ProcessOptions& options) {
  return run(argv, {}, options);
}

std::expected<ProcessResult, Error> run_process_streaming(const std::vector<std::string>& argv,
                                                          const OutputLineSink& sink,
                                                          const ProcessOptions& options) {
  return run(argv, sink, options);
}

std::expected<int, Error> spawn_detached(const std::vector<std::string>& argv,
                                         const std::filesystem::path& log_file) {
  if (argv.empty())
    return std::unexpected(Error("spawn_detached: empty command", ExitCode::internal));
  auto exe = locate(argv[0]);
  if (!exe) return std::unexpected(exe.error());
  const std::vector<std::string> args(argv.begin() + 1, argv.end());

  const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return std::unexpected(
        Error("cannot open log file " + log_file.string() + ": " + std::strerror(errno)));
  }
  try {
    bp::child child(
        *exe, bp::args(args), bp::std_in < bp::null, bp::extend::on_exec_setup = [log_fd](auto&) {
          // In the child, between fork and exec: a session of its own, so
          // that our terminal's signals (Ctrl-C) do not reach it.
          ::setsid();
          ::dup2(log_fd, STDOUT_FILENO);
          ::dup2(log_fd, STDERR_FILENO);
        });
    const int pid = child.id();
    child.detach();
    ::close(log_fd);
    return pid;
  } catch (const bp::process_error& e) {
    ::close(log_fd);
    return std::unexpected(
        Error("cannot start `" + describe_command(argv) + "`: " + e.what(), ExitCode::failure));
  }
}

}  // namespace berth
