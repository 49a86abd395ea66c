#pragma once

// Framed records: how a remote script reports data so that nothing else it prints,
// nor anything a login script prints before it, can pass for a record. Each record
//   @@TOKEN SUBJECT FIELD LENGTH\n<LENGTH bytes>\n
// carries a token made fresh for that run, which the server cannot know in advance.
// `@@TOKEN begin` starts the script's own output (text before it is not the
// script's), `@@TOKEN end` says the script got to its end. Everything else is text.

#include <cstddef>
#include <expected>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::util {

// One record: SUBJECT and FIELD (words without spaces) and a value of any bytes.
struct Record {
  std::string subject;
  std::string field;
  std::string value;
  bool operator==(const Record&) const = default;
};

// `bytes` bytes from the system's random source (getrandom), as lowercase hex.
// Throws std::runtime_error when the system has none (it blocks until it is seeded).
std::string random_hex(std::size_t bytes);

// The token one run of a script frames its records with.
class Frame {
 public:
  // A new token: 128 random bits.
  static Frame fresh();
  // A given token (tests): letters, digits, '-' and '_'.
  explicit Frame(std::string token);

  const std::string& token() const { return token_; }

  // POSIX sh that starts a framed script: prints the begin marker on stdout and on
  // stderr and defines
  //   rec SUBJECT FIELD VALUE       one record
  //   rec_file SUBJECT FIELD PATH   one record holding a file's bytes
  //   rec_end                       the end marker (the script got to its end)
  std::string prelude() const;

 private:
  std::string token_;
};

// Reads framed output as it arrives, in chunks of any size. Records go to `on_record`;
// the text outside them goes to `on_text` a line at a time (`newline` false for a last
// line without one). Text before the begin marker is held back, and dropped once
// the marker comes: it is not the script's (a login script's greeting); when the
// stream ends without one, the script never started and that text is released.
class FrameReader {
 public:
  using OnRecord = std::function<void(Record)>;
  using OnText = std::function<void(std::string_view line, bool newline)>;

  FrameReader(const Frame& frame, OnRecord on_record, OnText on_text);

  void feed(std::string_view chunk);
  // The stream ended: a last partial line is text; a record cut short is an error.
  void finish();

  bool begun() const { return begun_; }
  bool ended() const { return ended_; }
  // Why the framing is broken (a malformed header of this frame, a value cut short);
  // empty when it is not. After an error, the rest of the stream is text.
  const std::string& error() const { return error_; }

 private:
  void line(std::string_view text, bool newline);
  void text(std::string_view text, bool newline);

  std::string marker_;        // "@@TOKEN "
  OnRecord on_record_;
  OnText on_text_;
  std::string buffer_;
  std::string held_;          // text before the begin marker
  std::size_t offset_ = 0;    // bytes read so far, for error messages
  std::size_t value_left_ = 0;
  bool in_value_ = false;
  Record record_;
  bool begun_ = false;
  bool ended_ = false;
  std::string error_;
};

// The whole of a framed output at once.
struct Framed {
  std::vector<Record> records;
  std::string text;           // the script's text outside the records
  bool begun = false;
  bool ended = false;
};

// Reads `output` framed with `frame`; fails as FrameReader::error() says.
std::expected<Framed, std::string> read_framed(std::string_view output, const Frame& frame);

}  // namespace berth::util
