#include <core/util/frame.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>
#include <sys/random.h>

#include <cerrno>
#include <charconv>
#include <stdexcept>

namespace berth::util {

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  for (std::size_t got = 0; got < bytes;) {
    const auto n = getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("the system's random source failed (getrandom)");
    }
    got += static_cast<std::size_t>(n);
  }
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) out += fmt::format("{:02x}", c);
  return out;
}

Frame Frame::fresh() { return Frame(random_hex(16)); }

Frame::Frame(std::string token) : token_(std::move(token)) {
  for (char c : token_) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      throw std::invalid_argument("a frame token holds letters, digits, '-' and '_' only");
    }
  }
}

std::string Frame::prelude() const {
  // ${#3} counts bytes only in the C locale (dash always does; bash follows LC_ALL),
  // so rec sets it for the count alone and puts the caller's back.
  return fmt::format(
      R"sh(printf '@@{0} begin\n'; printf '@@{0} begin\n' >&2
rec() {{
  _berth_lc=${{LC_ALL-@}}; LC_ALL=C; _berth_n=${{#3}}
  if [ "$_berth_lc" = @ ]; then unset LC_ALL; else LC_ALL=$_berth_lc; fi
  printf '@@{0} %s %s %s\n%s\n' "$1" "$2" "$_berth_n" "$3"
}}
rec_file() {{
  _berth_n=$(wc -c < "$3") || return
  printf '@@{0} %s %s %s\n' "$1" "$2" "$_berth_n"; head -c "$_berth_n" "$3"; printf '\n'
}}
rec_end() {{ printf '@@{0} end\n'; }}
)sh",
      token_);
}

FrameReader::FrameReader(const Frame& frame, OnRecord on_record, OnText on_text)
    : marker_("@@" + frame.token() + " "), on_record_(std::move(on_record)), on_text_(std::move(on_text)) {}

void FrameReader::feed(std::string_view chunk) {
  buffer_.append(chunk);
  std::size_t pos = 0;
  while (pos < buffer_.size()) {
    if (in_value_) {
      const auto take = std::min(value_left_, buffer_.size() - pos);
      record_.value.append(buffer_, pos, take);
      pos += take;
      value_left_ -= take;
      if (value_left_ > 0) break;
      in_value_ = false;
      if (record_.value.back() != '\n') {
        error_ = fmt::format("record {} {} at byte {} is longer than its header says",
                             record_.subject, record_.field, offset_ + pos);
        continue;
      }
      record_.value.pop_back();
      on_record_(std::move(record_));
      record_ = {};
      continue;
    }
    const auto eol = buffer_.find('\n', pos);
    if (eol == std::string::npos) break;
    const auto start = pos;
    pos = eol + 1;
    line(std::string_view(buffer_).substr(start, eol - start), true);
  }
  offset_ += pos;
  buffer_.erase(0, pos);
}

void FrameReader::line(std::string_view l, bool newline) {
  const auto at = error_.empty() ? l.find(marker_) : std::string_view::npos;
  if (at == std::string_view::npos) {
    text(l, newline);
    return;
  }
  if (at > 0) text(l.substr(0, at), false);
  const auto header = l.substr(at + marker_.size());
  if (header == "begin") {
    begun_ = true;
    held_.clear();
    return;
  }
  if (header == "end") {
    ended_ = true;
    return;
  }
  const auto parts = fields(header);
  std::size_t length = 0;
  if (!newline || parts.size() != 3 ||
      std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), length).ec != std::errc{}) {
    error_ = fmt::format("broken record header at byte {}: '{}'", offset_,
                         header.substr(0, 60));
    return;
  }
  record_ = Record{std::string(parts[0]), std::string(parts[1]), {}};
  value_left_ = length + 1;  // the value, then its '\n'
  in_value_ = true;
}

void FrameReader::text(std::string_view t, bool newline) {
  if (!begun_) {
    held_.append(t);
    if (newline) held_ += '\n';
    return;
  }
  on_text_(t, newline);
}

void FrameReader::finish() {
  if (in_value_) {
    error_ = fmt::format("the output ended inside record {} {} ({} bytes missing)", record_.subject,
                         record_.field, value_left_);
    in_value_ = false;
  }
  if (!buffer_.empty()) {
    const std::string rest = std::move(buffer_);
    buffer_.clear();
    line(rest, false);
  }
  if (!begun_ && !held_.empty()) {
    // The script never started (sudo refused, no shell): this text is all there is.
    begun_ = true;
    std::string_view held = held_;
    while (!held.empty()) {
      const auto eol = held.find('\n');
      on_text_(held.substr(0, eol), eol != std::string_view::npos);
      held.remove_prefix(eol == std::string_view::npos ? held.size() : eol + 1);
    }
    begun_ = false;
    held_.clear();
  }
}

std::expected<Framed, std::string> read_framed(std::string_view output, const Frame& frame) {
  Framed framed;
  FrameReader reader(
      frame, [&](Record r) { framed.records.push_back(std::move(r)); },
      [&](std::string_view line, bool newline) {
        framed.text.append(line);
        if (newline) framed.text += '\n';
      });
  reader.feed(output);
  reader.finish();
  if (!reader.error().empty()) return std::unexpected(reader.error());
  framed.begun = reader.begun();
  framed.ended = reader.ended();
  return framed;
}

}  // namespace berth::util
