#include <core/ssh/upload_check.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace berth;
using namespace berth::ssh;

namespace {

// Bit by bit, straight from POSIX: the reference for the fast paths.
std::uint32_t cksum_reference(std::string_view data) {
  std::uint32_t crc = 0;
  const auto add = [&](unsigned char byte) {
    crc ^= std::uint32_t{byte} << 24;
    for (int i = 0; i < 8; ++i)
      crc = (crc & 0x80000000U) != 0 ? (crc << 1) ^ 0x04C11DB7U : crc << 1;
  };
  for (char c : data)
    add(static_cast<unsigned char>(c));
  for (std::uint64_t n = data.size(); n != 0; n >>= 8)
    add(static_cast<unsigned char>(n & 0xff));
  return ~crc;
}

std::string pseudo_random(std::size_t size, std::uint32_t seed) {
  std::string data(size, '\0');
  for (auto& c : data) {
    seed = seed * 1664525U + 1013904223U;
    c = static_cast<char>(seed >> 24);
  }
  return data;
}

// A ustar header block for `name` (GNU tar's own layout is tested end to end).
std::string tar_header(std::string_view name, char type, std::size_t size,
                       std::string_view link = {}) {
  std::string h(512, '\0');
  h.replace(0, name.size(), name);
  h.replace(100, 7, "0000644");
  h.replace(124, 11, fmt::format("{:011o}", size));
  h[156] = type;
  h.replace(157, link.size(), link);
  h.replace(257, 6, std::string("ustar\0", 6));
  h.replace(263, 2, "00");
  return h;
}

std::string tar_member(std::string_view name, std::string_view data, char type = '0') {
  std::string m = tar_header(name, type, data.size());
  m += data;
  m.append((512 - data.size() % 512) % 512, '\0');
  return m;
}

}  // namespace

TEST_CASE("upload_check: Cksum matches POSIX cksum") {
  const auto sum = [](std::string_view data) {
    Cksum c;
    c.update(data);
    return c.value();
  };
  SECTION("known values of coreutils' cksum") {
    CHECK(sum("") == 4294967295U);
    CHECK(sum("123456789") == 930766865U);
    CHECK(sum("hello\n") == 3015617425U);
  }
  SECTION("every length and chunking agrees with the bitwise reference") {
    const auto data = pseudo_random(5000, 7);
    for (std::size_t size : {1UL, 15UL, 63UL, 64UL, 127UL, 128UL, 129UL, 1000UL, 4096UL, 4999UL}) {
      const std::string_view part(data.data(), size);
      CHECK(sum(part) == cksum_reference(part));
      Cksum pieces;
      for (std::size_t at = 0; at < size; at += 300)
        pieces.update(part.substr(at, 300));
      CHECK(pieces.value() == cksum_reference(part));
      CHECK(pieces.size() == size);
    }
  }
}

TEST_CASE("upload_check: member_path is the path tar -x writes") {
  CHECK(member_path("./a/b") == "a/b");
  CHECK(member_path("/etc//x/./y/") == "etc/x/y");
  CHECK(member_path("with space.txt") == "with space.txt");
  CHECK(member_path("./") == "");
}

TEST_CASE("upload_check: TarSums sums the regular files of a tar stream") {
  const auto blob = pseudo_random(70000, 3);
  std::string tar = tar_header("./", '5', 0) + tar_member("./blob", blob) +
                    tar_member("./empty", "") + tar_header("./link", '2', 0, "blob") +
                    tar_header("./hard", '1', 0, "./blob");
  // A GNU long name, then a pax header renaming the next member.
  const std::string long_name = "./" + std::string(150, 'n');
  tar += tar_member("././@LongLink", long_name + '\0', 'L') + tar_member("./short", "long\n");
  tar += tar_member("./PaxHeaders/x", "17 path=pax name\n", 'x') + tar_member("./x", "pax\n");
  tar += std::string(1024, '\0') + "trailing garbage is ignored";
  const auto sum = [](std::string_view data) {
    Cksum c;
    c.update(data);
    return FileSum{data.size(), c.value()};
  };

  SECTION("whatever the chunking") {
    for (std::size_t chunk : {1UL, 511UL, 512UL, 4096UL, 1UL << 20}) {
      TarSums sums;
      for (std::size_t at = 0; at < tar.size(); at += chunk)
        sums.feed(std::string_view(tar).substr(at, chunk));
      const auto files = sums.finish();
      REQUIRE(files);
      CHECK(files->size() == 5);
      CHECK(files->at("blob") == sum(blob));
      CHECK(files->at("hard") == sum(blob));
      CHECK(files->at("empty") == sum(""));
      CHECK(files->at(std::string(150, 'n')) == sum("long\n"));
      CHECK(files->at("pax name") == sum("pax\n"));
      CHECK_FALSE(files->contains("link"));
    }
  }
  SECTION("a stream cut inside a file fails, naming it") {
    TarSums sums;
    sums.feed(std::string_view(tar).substr(0, 512 + 512 + 1000));
    const auto files = sums.finish();
    REQUIRE_FALSE(files);
    CHECK(files.error() == "the tar stream ends inside blob");
  }
  SECTION("a sparse member fails") {
    TarSums sums;
    sums.feed(tar_member("./holes", "", 'S'));
    REQUIRE_FALSE(sums.finish());
  }
}

TEST_CASE("upload_check: parse_upload_listing and first_mismatch") {
  const std::string out =
      std::string("./a\0./odd\nname\0\0", 16) + "3015617425 6 ./a\n4294967295 0 ./odd\nname\n";
  const auto files = parse_upload_listing(out);
  REQUIRE(files);
  CHECK(files->size() == 2);
  CHECK(files->at("a") == FileSum{6, 3015617425U});
  CHECK(files->at("odd\nname") == FileSum{0, 4294967295U});

  SECTION("a cut listing fails") {
    CHECK_FALSE(parse_upload_listing(std::string("./a\0", 4)));
    CHECK_FALSE(parse_upload_listing(out.substr(0, out.size() - 10)));
  }
  SECTION("the first missing or different file is named; extra files do not count") {
    FileSums sent{{"a", FileSum{6, 3015617425U}}};
    CHECK(first_mismatch(sent, *files).empty());
    sent["b"] = FileSum{1, 2};
    CHECK(first_mismatch(sent, *files) == "b is missing on the server");
    sent.erase("b");
    sent["a"].size = 7;
    CHECK(first_mismatch(sent, *files) ==
          "a: sent 7 bytes (cksum 3015617425), the server has 6 bytes (cksum 3015617425)");
  }
  SECTION("sums_text lists path, size and cksum in path order") {
    CHECK(sums_text(*files) == "3015617425 6 a\n4294967295 0 odd\nname\n");
  }
}
