#include <core/ssh/upload_check.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace berth::ssh {

namespace {

constexpr std::uint32_t cksum_polynomial = 0x04C11DB7;

// Slice-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
using CrcTables = std::array<std::array<std::uint32_t, 256>, 8>;
constexpr CrcTables make_crc_tables() {
  CrcTables t{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t c = b << 24;
    for (int i = 0; i < 8; ++i)
      c = (c & 0x80000000U) != 0 ? (c << 1) ^ cksum_polynomial : c << 1;
    t[0][b] = c;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t b = 0; b < 256; ++b)
      t[k][b] = (t[k - 1][b] << 8) ^ t[0][t[k - 1][b] >> 24];
  }
  return t;
}
constexpr CrcTables crc_tables = make_crc_tables();

std::uint32_t crc_bytes(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  const auto& t = crc_tables;
  for (; n >= 8; p += 8, n -= 8) {
    const std::uint32_t one = crc ^ (std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 |
                                     std::uint32_t{p[2]} << 8 | p[3]);
    const std::uint32_t two =
        std::uint32_t{p[4]} << 24 | std::uint32_t{p[5]} << 16 | std::uint32_t{p[6]} << 8 | p[7];
    crc = t[7][one >> 24] ^ t[6][(one >> 16) & 0xff] ^ t[5][(one >> 8) & 0xff] ^ t[4][one & 0xff] ^
          t[3][two >> 24] ^ t[2][(two >> 16) & 0xff] ^ t[1][(two >> 8) & 0xff] ^ t[0][two & 0xff];
  }
  for (; n > 0; ++p, --n)
    crc = (crc << 8) ^ t[0][(crc >> 24) ^ *p];
  return crc;
}

#if defined(__x86_64__)
// x^n mod the polynomial: the folding constants.
constexpr std::uint64_t x_power_mod(unsigned n) {
  std::uint32_t r = 1;
  for (unsigned i = 0; i < n; ++i)
    r = (r & 0x80000000U) != 0 ? (r << 1) ^ cksum_polynomial : r << 1;
  return r;
}

// Folds 16-byte blocks with carry-less multiplication (Intel, "Fast CRC computation
// for generic polynomials using PCLMULQDQ"): a block B = H*x^64 + L standing D bits
// before the rest becomes H*(x^(D+64) mod P) + L*(x^D mod P), at most 96 bits, which
// is added to the block D bits later. Four lanes 512 bits apart, then one; the last
// block and the tail go through the table.
#define BERTH_PCLMUL __attribute__((target("pclmul,ssse3")))

BERTH_PCLMUL __m128i load_reversed(const unsigned char* q) {
  const __m128i reverse = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)), reverse);
}

BERTH_PCLMUL __m128i fold(__m128i block, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(block, k, 0x11), _mm_clmulepi64_si128(block, k, 0x00));
}

BERTH_PCLMUL std::uint32_t crc_folded(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  const auto load = load_reversed;
  constexpr auto k512_high = static_cast<long long>(x_power_mod(512 + 64));
  constexpr auto k512_low = static_cast<long long>(x_power_mod(512));
  constexpr auto k128_high = static_cast<long long>(x_power_mod(128 + 64));
  constexpr auto k128_low = static_cast<long long>(x_power_mod(128));
  const __m128i k512 = _mm_set_epi64x(k512_high, k512_low);
  const __m128i k128 = _mm_set_epi64x(k128_high, k128_low);
  // The register so far is added to the first 32 bits of the data.
  __m128i x0 = _mm_xor_si128(load(p), _mm_set_epi32(static_cast<int>(crc), 0, 0, 0));
  __m128i x1 = load(p + 16);
  __m128i x2 = load(p + 32);
  __m128i x3 = load(p + 48);
  for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
    x0 = _mm_xor_si128(fold(x0, k512), load(p));
    x1 = _mm_xor_si128(fold(x1, k512), load(p + 16));
    x2 = _mm_xor_si128(fold(x2, k512), load(p + 32));
    x3 = _mm_xor_si128(fold(x3, k512), load(p + 48));
  }
  x1 = _mm_xor_si128(x1, fold(x0, k128));
  x2 = _mm_xor_si128(x2, fold(x1, k128));
  x3 = _mm_xor_si128(x3, fold(x2, k128));
  for (; n >= 16; p += 16, n -= 16)
    x3 = _mm_xor_si128(fold(x3, k128), load(p));
  std::array<unsigned char, 16> last{};
  _mm_storeu_si128(reinterpret_cast<__m128i*>(last.data()), x3);
  std::reverse(last.begin(), last.end());
  return crc_bytes(crc_bytes(0, last.data(), last.size()), p, n);
}

bool has_pclmul() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("ssse3");
  }();
  return has;
}
#endif

}  // namespace

void Cksum::update(std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
#if defined(__x86_64__)
  if (data.size() >= 128 && has_pclmul()) {
    crc_ = crc_folded(crc_, p, data.size());
    size_ += data.size();
    return;
  }
#endif
  crc_ = crc_bytes(crc_, p, data.size());
  size_ += data.size();
}

std::uint32_t Cksum::value() const {
  std::uint32_t crc = crc_;
  for (std::uint64_t n = size_; n != 0; n >>= 8) {
    const auto byte = static_cast<unsigned char>(n & 0xff);
    crc = crc_bytes(crc, &byte, 1);
  }
  return ~crc;
}

std::string member_path(std::string_view name) {
  std::string path;
  while (!name.empty()) {
    const auto slash = name.find('/');
    const auto part = name.substr(0, slash);
    if (!part.empty() && part != ".") {
      if (!path.empty()) path += '/';
      path += part;
    }
    if (slash == std::string_view::npos) break;
    name.remove_prefix(slash + 1);
  }
  return path;
}

namespace {

constexpr std::size_t block = 512;
constexpr std::size_t max_meta = 1 << 20;

// A NUL-terminated header field.
std::string_view field(std::string_view header, std::size_t offset, std::size_t size) {
  auto text = header.substr(offset, size);
  return text.substr(0, text.find('\0'));
}

// An octal number field, or base-256 when its first byte has the high bit set.
std::optional<std::uint64_t> number(std::string_view header, std::size_t offset, std::size_t size) {
  const auto text = header.substr(offset, size);
  std::uint64_t value = 0;
  if ((static_cast<unsigned char>(text[0]) & 0x80) != 0) {
    for (std::size_t i = 1; i < text.size(); ++i)
      value = (value << 8) | static_cast<unsigned char>(text[i]);
    return value;
  }
  std::size_t i = 0;
  while (i < text.size() && text[i] == ' ')
    ++i;
  const auto end = text.find_first_of(std::string_view(" \0", 2), i);
  const auto digits = text.substr(i, end == std::string_view::npos ? text.size() - i : end - i);
  if (digits.empty()) return 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 8);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::uint64_t padding_of(std::uint64_t size) {
  return (block - size % block) % block;
}

}  // namespace

void TarSums::feed(std::string_view chunk) {
  while (!chunk.empty() && state_ != State::end) {
    if (state_ == State::header) {
      const auto take = std::min(chunk.size(), block - header_.size());
      header_.append(chunk.substr(0, take));
      chunk.remove_prefix(take);
      if (header_.size() == block) header_done();
      continue;
    }
    if (left_ > 0) {
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), left_));
      if (state_ == State::data) sum_.update(chunk.substr(0, take));
      if (state_ == State::meta) meta_.append(chunk.substr(0, take));
      chunk.remove_prefix(take);
      left_ -= take;
      if (left_ > 0) continue;
      if (state_ == State::data) files_[current_] = FileSum{sum_.size(), sum_.value()};
      if (state_ == State::meta) meta_done();
      if (state_ == State::end) return;
    }
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), padding_));
    chunk.remove_prefix(take);
    padding_ -= take;
    if (padding_ == 0) state_ = State::header;
  }
}

void TarSums::header_done() {
  const std::string_view h = header_;
  const auto fail = [&](std::string what) {
    error_ = std::move(what);
    state_ = State::end;
  };
  if (std::all_of(h.begin(), h.end(), [](char c) { return c == '\0'; })) {
    state_ = State::end;  // end of archive: tar -x stops here too
    return;
  }
  std::string name(field(h, 0, 100));
  if (field(h, 257, 6) == "ustar" && h[262] == '\0' && !field(h, 345, 155).empty()) {
    name = std::string(field(h, 345, 155)) + "/" + name;  // POSIX ustar prefix
  }
  const char type = h[156];
  auto size = number(h, 124, 12);
  if (!size) return fail(fmt::format("malformed tar header for {}", name));
  std::string link(field(h, 157, 100));
  if (type != 'x' && type != 'g' && type != 'L' && type != 'K') {
    if (!long_name_.empty()) name = std::exchange(long_name_, {});
    if (!long_link_.empty()) link = std::exchange(long_link_, {});
    if (pax_size_) size = std::exchange(pax_size_, std::nullopt);
  }
  header_.clear();
  const auto path = member_path(name);
  std::uint64_t data = *size;
  switch (type) {
  case 'L':
  case 'K':
  case 'x':
    if (*size > max_meta) return fail(fmt::format("tar metadata of {} bytes", *size));
    state_ = State::meta;
    meta_type_ = type;
    meta_.clear();
    break;
  case '0':
  case '\0':
  case '7':
    state_ = State::data;
    current_ = path;
    sum_ = Cksum{};
    if (data == 0) files_[current_] = FileSum{0, Cksum{}.value()};
    break;
  case '1':
    // GNU tar stores no data for hard links whatever the size field says.
    data = 0;
    if (const auto target = files_.find(member_path(link)); target != files_.end()) {
      files_[path] = target->second;
    } else {
      files_.erase(path);
    }
    state_ = State::skip;
    break;
  case 'S':
    return fail(fmt::format("{} is a sparse file, which berth cannot check", path));
  default:
    // Links, folders, devices, global pax headers: no file content to check.
    files_.erase(path);
    state_ = State::skip;
  }
  left_ = data;
  padding_ = padding_of(data);
  if (left_ == 0 && state_ == State::data) state_ = State::skip;
  if (left_ == 0 && state_ == State::meta) meta_done();
}

void TarSums::meta_done() {
  const auto text = std::string_view(meta_);
  if (meta_type_ == 'L') long_name_ = std::string(text.substr(0, text.find('\0')));
  if (meta_type_ == 'K') long_link_ = std::string(text.substr(0, text.find('\0')));
  if (meta_type_ == 'x') {
    // Records "LENGTH KEY=VALUE\n".
    for (std::string_view rest = text; !rest.empty();) {
      std::size_t length = 0;
      const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), length);
      if (ec != std::errc() || length == 0 || length > rest.size()) break;
      const auto record = rest.substr(static_cast<std::size_t>(ptr - rest.data()),
                                      length - static_cast<std::size_t>(ptr - rest.data()));
      rest.remove_prefix(length);
      const auto equals = record.find('=');
      if (equals == std::string_view::npos || record.size() < 2) continue;
      const auto key = record.substr(1, equals - 1);
      const auto value = record.substr(equals + 1, record.size() - equals - 2);
      if (key == "path") long_name_ = std::string(value);
      if (key == "linkpath") long_link_ = std::string(value);
      if (key == "size") {
        std::uint64_t n = 0;
        if (std::from_chars(value.data(), value.data() + value.size(), n).ec == std::errc())
          pax_size_ = n;
      }
      if (key.starts_with("GNU.sparse.")) {
        error_ = "a member is a sparse file, which berth cannot check";
        state_ = State::end;
        return;
      }
    }
  }
  state_ = State::skip;
}

std::expected<FileSums, std::string> TarSums::finish() {
  if (!error_.empty()) return std::unexpected(error_);
  if (state_ != State::end && (left_ > 0 || padding_ > 0 || !header_.empty())) {
    return std::unexpected(fmt::format("the tar stream ends inside {}",
                                       current_.empty() ? std::string("a header") : current_));
  }
  return std::move(files_);
}

std::expected<FileSums, std::string> parse_upload_listing(std::string_view out) {
  std::vector<std::string> names;
  for (;;) {
    const auto nul = out.find('\0');
    if (nul == std::string_view::npos) return std::unexpected("the file list is cut");
    const auto name = out.substr(0, nul);
    out.remove_prefix(nul + 1);
    if (name.empty()) break;
    names.emplace_back(name);
  }
  FileSums files;
  for (const auto& name : names) {
    // "CRC SIZE NAME\n"; the name is printed raw, so it is matched, not split.
    std::uint32_t crc = 0;
    std::uint64_t size = 0;
    auto [crc_end, crc_ec] = std::from_chars(out.data(), out.data() + out.size(), crc);
    if (crc_ec != std::errc() || crc_end == out.data() + out.size() || *crc_end != ' ') {
      return std::unexpected(fmt::format("no cksum line for {}", name));
    }
    auto [size_end, size_ec] = std::from_chars(crc_end + 1, out.data() + out.size(), size);
    const auto rest = out.substr(static_cast<std::size_t>(size_end - out.data()));
    if (size_ec != std::errc() || !rest.starts_with(" " + name + "\n")) {
      return std::unexpected(fmt::format("no cksum line for {}", name));
    }
    out = rest.substr(name.size() + 2);
    files[member_path(name)] = FileSum{size, crc};
  }
  return files;
}

std::string first_mismatch(const FileSums& sent, const FileSums& received) {
  for (const auto& [path, sum] : sent) {
    const auto found = received.find(path);
    if (found == received.end()) return fmt::format("{} is missing on the server", path);
    if (found->second != sum) {
      return fmt::format("{}: sent {} bytes (cksum {}), the server has {} bytes (cksum {})", path,
                         sum.size, sum.crc, found->second.size, found->second.crc);
    }
  }
  return {};
}

std::string sums_text(const FileSums& files) {
  std::string text;
  for (const auto& [path, sum] : files)
    text += fmt::format("{} {} {}\n", sum.crc, sum.size, path);
  return text;
}

}  // namespace berth::ssh
