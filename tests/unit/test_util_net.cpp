#include <core/util/net.hpp>
#include <core/util/password.hpp>

#include <catch2/catch.hpp>

#include <crypt.h>

using berth::util::is_cidr;
using berth::util::sha512_crypt;

TEST_CASE("net: addresses and CIDRs of both families") {
  for (const char* good : {"10.0.0.0/8", "198.18.0.1", "0.0.0.0/0", "203.0.113.7/32", "2001:db8::/32",
                           "::1", "2a06:98c0::/29", "::/0", "fe80::1/128"}) {
    INFO(good);
    CHECK(is_cidr(good));
  }
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x",
                          "2001:db8::/129", "cloudflare", "10.0.0.0/8;deny", "1.2.3.4 ", "/8",
                          "10.0.0.0/0008"}) {
    INFO(bad);
    CHECK_FALSE(is_cidr(bad));
  }
}

TEST_CASE("password: SHA-512 crypt that crypt(3) verifies, the same for the same inputs") {
  const auto hash = sha512_crypt("correct horse", "app\n/\nalice");
  REQUIRE(hash.size() == 3 + 16 + 1 + 86);
  CHECK(hash.starts_with("$6$"));
  // What nginx does with the line: crypt the given password with the stored setting.
  crypt_data data{};
  CHECK(std::string(crypt_r("correct horse", hash.c_str(), &data)) == hash);
  CHECK(std::string(crypt_r("correct horsE", hash.c_str(), &data)) != hash);
  CHECK(sha512_crypt("correct horse", "app\n/\nalice") == hash);
  CHECK(sha512_crypt("correct horse", "app\n/\nbob").substr(0, 20) != hash.substr(0, 20));
  CHECK(sha512_crypt("pass:with\"odd'chars$", "seed").starts_with("$6$"));
}
