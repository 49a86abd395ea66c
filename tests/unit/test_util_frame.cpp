#include <core/util/frame.hpp>
#include <core/util/process.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using berth::util::Frame;
using berth::util::FrameReader;
using berth::util::Record;
using berth::util::read_framed;

namespace {

struct Seen {
  std::vector<Record> records;
  std::vector<std::string> lines;
};

// Feeds `output` to a reader one `chunk` bytes at a time.
Seen read_in_chunks(const std::string& output, std::size_t chunk, std::string* error = nullptr) {
  Seen seen;
  FrameReader reader(
      Frame("tok"), [&](Record r) { seen.records.push_back(std::move(r)); },
      [&](std::string_view line, bool newline) { seen.lines.push_back(std::string(line) + (newline ? "" : "|")); });
  for (std::size_t i = 0; i < output.size(); i += chunk) reader.feed(std::string_view(output).substr(i, chunk));
  reader.finish();
  if (error) *error = reader.error();
  return seen;
}

}  // namespace

TEST_CASE("frame: records and text come apart, in any chunking") {
  const std::string output =
      "@@tok begin\nhello\n@@tok a b 11\nx\n@@tok c\ny\n@@tok c d 0\n\nbye\n@@tok end\n";
  for (std::size_t chunk : {1, 2, 3, 7, 100}) {
    INFO("chunk " << chunk);
    const auto seen = read_in_chunks(output, chunk);
    REQUIRE(seen.records.size() == 2);
    CHECK(seen.records[0] == Record{"a", "b", "x\n@@tok c\ny"});
    CHECK(seen.records[1] == Record{"c", "d", ""});
    CHECK(seen.lines == std::vector<std::string>{"hello", "bye"});
  }
}

TEST_CASE("frame: what a login script prints is never a record") {
  SECTION("text before the begin marker is dropped, even on the marker's line") {
    const auto framed = read_framed(
        "Welcome to Debian!\n@@berth 0 type 4\nfile\n@@berth end\nlast words@@tok begin\n@@tok 0 type 4\ndire\n"
        "@@tok end\n",
        Frame("tok"));
    REQUIRE(framed);
    CHECK(framed->begun);
    CHECK(framed->ended);
    CHECK(framed->records == std::vector<Record>{{"0", "type", "dire"}});
    CHECK(framed->text.empty());
  }
  SECTION("another run's token, a prefix of ours, or ours without its space is text") {
    const auto framed = read_framed(
        "@@tok begin\n@@tok2 a b 1\nx\n@@to a b 1\nx\n@@tokx end\n@@tok end\n", Frame("tok"));
    REQUIRE(framed);
    CHECK(framed->records.empty());
    CHECK(framed->text == "@@tok2 a b 1\nx\n@@to a b 1\nx\n@@tokx end\n");
  }
  SECTION("no begin marker: the script never ran, and what was printed is all there is") {
    const auto seen = read_in_chunks("sudo: a password is required\nagain", 5);
    CHECK(seen.lines == std::vector<std::string>{"sudo: a password is required", "again|"});
  }
}

TEST_CASE("frame: broken framing is an error, never a guess") {
  std::string error;
  SECTION("a value cut short") {
    read_in_chunks("@@tok begin\n@@tok a b 10\nshort\n", 4, &error);
    CHECK(error.find("ended inside record a b") != std::string::npos);
  }
  SECTION("a value longer than its header says") {
    read_in_chunks("@@tok begin\n@@tok a b 2\nabc\n@@tok end\n", 3, &error);
    CHECK(error.find("longer than its header says") != std::string::npos);
  }
  SECTION("a header without a length, or with a negative one") {
    CHECK_FALSE(read_framed("@@tok a b\n\n", Frame("tok")));
    CHECK_FALSE(read_framed("@@tok a b -1\n\n", Frame("tok")));
    CHECK_FALSE(read_framed("@@tok a b c d\n\n", Frame("tok")));
  }
  SECTION("after an error, the rest is text") {
    const auto seen = read_in_chunks("@@tok begin\n@@tok a b\n@@tok c d 1\nx\n", 64, &error);
    CHECK_FALSE(error.empty());
    CHECK(seen.records.empty());
  }
}

TEST_CASE("frame: a fresh token is 32 hex digits, new each time") {
  const auto a = Frame::fresh().token();
  const auto b = Frame::fresh().token();
  CHECK(a.size() == 32);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
  CHECK_THROWS(Frame("has space"));
}

TEST_CASE("frame: the prelude's rec and rec_file run in sh and read back exactly") {
  const Frame frame("t0k");
  const std::string script = frame.prelude() +
                             "export LC_ALL=C.UTF-8\n"
                             "rec a value \"$(printf 'caf\\303\\251\\n@@t0k x y 1\\nz')\"\n"
                             "printf 'plain text\\n'\n"
                             "f=$(mktemp); printf 'two\\nlines' > \"$f\"; rec_file a file \"$f\"; rm -f \"$f\"\n"
                             "rec a locale \"$LC_ALL\"\n"
                             "rec_end\n";
  const auto ran = berth::run_process({"/bin/sh", "-s"}, {.stdin_text = script});
  REQUIRE(ran);
  REQUIRE(ran->ok());
  const auto framed = read_framed(ran->out, frame);
  REQUIRE(framed);
  CHECK(framed->ended);
  REQUIRE(framed->records.size() == 3);
  CHECK(framed->records[0].value == "caf\xc3\xa9\n@@t0k x y 1\nz");
  CHECK(framed->records[1].value == "two\nlines");
  // rec counts bytes in the C locale and gives the script its own back.
  CHECK(framed->records[2].value == "C.UTF-8");
  CHECK(framed->text == "plain text\n");
}
