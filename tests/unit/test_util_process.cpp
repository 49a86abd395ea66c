#include <core/util/process.hpp>

#include <catch2/catch.hpp>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

using berth::OutputStream;
using berth::ProcessOptions;
using berth::run_process;
using berth::run_process_streaming;
namespace fs = std::filesystem;

namespace {

// `count` bytes of `c`, the way `yes c | head -c count` writes them.
std::string repeated(char c, std::size_t count) {
  std::string s;
  s.reserve(count);
  while (s.size() + 2 <= count)
    s += std::string{c, '\n'};
  if (s.size() < count) s += c;
  return s;
}

}  // namespace

TEST_CASE("process: exit code, stdout and stderr apart") {
  const auto r = run_process({"sh", "-c", "printf 'to out\\n'; printf 'to err\\n' >&2; exit 3"});
  REQUIRE(r.has_value());
  CHECK(r->exit_code == 3);
  CHECK_FALSE(r->ok());
  CHECK_FALSE(r->timed_out);
  CHECK(r->out == "to out\n");
  CHECK(r->err == "to err\n");
  CHECK(r->tail() == "to err");

  SECTION("success") {
    const auto ok = run_process({"true"});
    REQUIRE(ok.has_value());
    CHECK(ok->exit_code == 0);
    CHECK(ok->ok());
    CHECK(ok->out.empty());
    CHECK(ok->err.empty());
  }
  SECTION("arguments are passed as they are, without a shell") {
    const auto p = run_process({"printf", "%s|%s", "a b", "$HOME;*"});
    REQUIRE(p.has_value());
    CHECK(p->out == "a b|$HOME;*");
  }
}

TEST_CASE("process: stdin text reaches the program, else stdin is empty") {
  SECTION("text") {
    ProcessOptions o;
    o.stdin_text = "line one\nline two";
    const auto r = run_process({"cat"}, o);
    REQUIRE(r.has_value());
    CHECK(r->ok());
    CHECK(r->out == "line one\nline two");
  }
  SECTION("no text: /dev/null, so cat ends at once") {
    const auto r = run_process({"cat"});
    REQUIRE(r.has_value());
    CHECK(r->ok());
    CHECK(r->out.empty());
  }
  SECTION("a large text") {
    ProcessOptions o;
    o.stdin_text = repeated('i', 1 << 20);
    const auto r = run_process({"wc", "-c"}, o);
    REQUIRE(r.has_value());
    CHECK(std::stoul(r->out) == (1u << 20));
  }
}

TEST_CASE("process: cwd and env") {
  SECTION("cwd") {
    const auto dir =
        fs::temp_directory_path() / ("berth-process-test-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    ProcessOptions o;
    o.cwd = dir;
    const auto r = run_process({"sh", "-c", "pwd -P"}, o);
    const auto expected = fs::canonical(dir).string() + "\n";
    fs::remove_all(dir);
    REQUIRE(r.has_value());
    CHECK(r->out == expected);
  }
  SECTION("env is set on top of ours") {
    ProcessOptions o;
    o.env["BERTH_TEST_VALUE"] = "two words";
    // PATH still comes from us: sh and printf are found.
    const auto r = run_process({"sh", "-c", "printf '%s' \"$BERTH_TEST_VALUE\""}, o);
    REQUIRE(r.has_value());
    CHECK(r->out == "two words");
  }
  SECTION("env overrides one of ours") {
    ::setenv("BERTH_TEST_OVERRIDDEN", "ours", 1);
    ProcessOptions o;
    o.env["BERTH_TEST_OVERRIDDEN"] = "theirs";
    const auto r = run_process({"sh", "-c", "printf '%s' \"$BERTH_TEST_OVERRIDDEN\""}, o);
    ::unsetenv("BERTH_TEST_OVERRIDDEN");
    REQUIRE(r.has_value());
    CHECK(r->out == "theirs");
  }
}

TEST_CASE("process: a program that cannot start is an Error naming it") {
  SECTION("not in PATH") {
    const auto r = run_process({"berth-test-no-such-program", "x"});
    REQUIRE_FALSE(r.has_value());
    CHECK(std::string(r.error().what()).find("berth-test-no-such-program") != std::string::npos);
  }
  SECTION("a path that does not exist") {
    const auto r = run_process({"/nonexistent/berth-test-program"});
    REQUIRE_FALSE(r.has_value());
    CHECK(std::string(r.error().what()).find("/nonexistent/berth-test-program") !=
          std::string::npos);
  }
  SECTION("streaming too") {
    const auto r = run_process_streaming({"berth-test-no-such-program"},
                                         [](OutputStream, std::string_view) {});
    REQUIRE_FALSE(r.has_value());
  }
}

TEST_CASE("process: a timeout kills the program") {
  ProcessOptions o;
  o.timeout = std::chrono::milliseconds(100);
  // exec: the shell becomes sleep, so killing it closes the pipes.
  const auto r = run_process({"sh", "-c", "printf 'started\\n'; exec sleep 600"}, o);
  REQUIRE(r.has_value());
  CHECK(r->timed_out);
  CHECK(r->exit_code == -1);
  CHECK_FALSE(r->ok());
  CHECK(r->out == "started\n");

  SECTION("a program that ends in time is not marked") {
    ProcessOptions generous;
    generous.timeout = std::chrono::minutes(5);
    const auto quick = run_process({"true"}, generous);
    REQUIRE(quick.has_value());
    CHECK_FALSE(quick->timed_out);
    CHECK(quick->exit_code == 0);
  }
}

TEST_CASE("process: large output on both streams does not deadlock") {
  // Far more than a pipe buffer (64 KiB) on each stream, stderr first: a reader that
  // drained stdout to its end before stderr would wait forever.
  constexpr std::size_t size = 4 << 20;
  const std::string script = "yes e | head -c " + std::to_string(size) + " >&2; yes o | head -c " +
                             std::to_string(size) + "; yes e | head -c " + std::to_string(size) +
                             " >&2";
  SECTION("run_process") {
    const auto r = run_process({"sh", "-c", script});
    REQUIRE(r.has_value());
    CHECK(r->ok());
    CHECK(r->out == repeated('o', size));
    CHECK(r->err == repeated('e', size) + repeated('e', size));
  }
  SECTION("run_process_streaming") {
    std::size_t out_lines = 0;
    std::size_t err_lines = 0;
    std::size_t odd_lines = 0;
    const auto r =
        run_process_streaming({"sh", "-c", script}, [&](OutputStream s, std::string_view line) {
          (s == OutputStream::out ? out_lines : err_lines)++;
          if (line.size() != 1) ++odd_lines;
        });
    REQUIRE(r.has_value());
    CHECK(r->ok());
    CHECK(out_lines == size / 2);
    CHECK(err_lines == size);
    CHECK(odd_lines == 0);
    CHECK(r->out.size() == size);
    CHECK(r->err.size() == 2 * size);
  }
}

TEST_CASE("process: streaming delivers each stream's lines in order") {
  std::vector<std::string> out;
  std::vector<std::string> err;
  const auto r = run_process_streaming(
      {"sh", "-c",
       "for i in 1 2 3 4 5; do printf 'out %s\\n' $i; printf 'err %s\\n' $i >&2; done; "
       "printf 'last without newline'"},
      [&](OutputStream s, std::string_view line) {
        (s == OutputStream::out ? out : err).emplace_back(line);
      });
  REQUIRE(r.has_value());
  CHECK(r->ok());
  CHECK(out == std::vector<std::string>{"out 1", "out 2", "out 3", "out 4", "out 5",
                                        "last without newline"});
  CHECK(err == std::vector<std::string>{"err 1", "err 2", "err 3", "err 4", "err 5"});
  // The result still holds everything.
  CHECK(r->out == "out 1\nout 2\nout 3\nout 4\nout 5\nlast without newline");
  CHECK(r->err == "err 1\nerr 2\nerr 3\nerr 4\nerr 5\n");

  SECTION("stdin, cwd and env apply too") {
    ProcessOptions o;
    o.stdin_text = "a\nb\n";
    o.env["BERTH_TEST_PREFIX"] = "> ";
    std::vector<std::string> lines;
    const auto c = run_process_streaming(
        {"sh", "-c", "while read -r l; do printf '%s%s\\n' \"$BERTH_TEST_PREFIX\" \"$l\"; done"},
        [&](OutputStream, std::string_view line) { lines.emplace_back(line); }, o);
    REQUIRE(c.has_value());
    CHECK(lines == std::vector<std::string>{"> a", "> b"});
  }
}
