#include <core/output/redact.hpp>
#include <core/secret.hpp>

#include <catch2/catch.hpp>

using namespace berth;

TEST_CASE("redact: a secret's value never survives in output") {
  const Secret token("s3cr3t-token-value");
  CHECK(redact("Authorization: s3cr3t-token-value!") == "Authorization: [secret]!");
  CHECK(redact("twice s3cr3t-token-value s3cr3t-token-value") == "twice [secret] [secret]");
  CHECK(token.reveal() == "s3cr3t-token-value");

  SECTION("a short value is not registered") {
    const Secret pin("abc");
    CHECK(redact("abcdef") == "abcdef");
  }
  SECTION("the longer of two overlapping secrets is replaced whole") {
    const Secret longer("s3cr3t-token-value-and-more");
    CHECK(redact("x s3cr3t-token-value-and-more y") == "x [secret] y");
  }
}
