#include <core/util/diff.hpp>

#include <catch2/catch.hpp>

using berth::util::unified_diff;

TEST_CASE("diff: unified hunks with context") {
  CHECK(unified_diff("a\n", "a\n", "x", "y").empty());
  CHECK(unified_diff("a\nb\nc\n", "a\nB\nc\n", "old", "new") ==
        "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
  CHECK(unified_diff("", "x\n", "/dev/null", "f") == "--- /dev/null\n+++ f\n@@ -0,0 +1,1 @@\n+x\n");

  SECTION("distant changes make separate hunks") {
    std::string before, after;
    for (int i = 0; i < 20; ++i) {
      before += std::to_string(i) + "\n";
      after += (i == 2 || i == 17 ? "changed" : std::to_string(i)) + "\n";
    }
    const auto d = unified_diff(before, after, "a", "b");
    CHECK(d.find("@@ -1,6 +1,6 @@") != std::string::npos);
    CHECK(d.find("@@ -15,6 +15,6 @@") != std::string::npos);
  }
}
