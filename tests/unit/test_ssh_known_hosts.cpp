#include <core/ssh/connect_steps.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace berth::ssh;

TEST_CASE("known_hosts: lines_naming finds the lines recorded for a host") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("berth_test_known_hosts." + std::to_string(getpid()));
  const std::string key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDmHigFFRpvW2nq5D7Z5kTRDrGmefRZRcYKxjmEK0BOI";
  {
    std::ofstream out(path);
    out << "# a comment naming 198.18.9.9\n"                                 // 1
        << "198.18.9.8 " << key << "\n"                                      // 2
        << "web.example,198.18.9.9 " << key << "\n"                          // 3
        << "[198.18.9.9]:2222 " << key << "\n"                               // 4
        << "|1|AAECAwQFBgcICQoLDA0ODxAREhM=|XxnyMCvkT2rk2F9jzTQXq+VY42E= " << key << "\n"  // 5: hashed 198.18.9.9
        << "\n"                                                               // 6
        << "*.internal " << key << "\n";                                     // 7
  }
  SECTION("plain and hashed entries, not the comment nor other hosts") {
    CHECK(lines_naming(path, "198.18.9.9") == std::vector<int>{3, 5});
  }
  SECTION("a non-standard port is its own [host]:port entry") {
    CHECK(lines_naming(path, "[198.18.9.9]:2222") == std::vector<int>{4});
  }
  SECTION("wildcards") {
    CHECK(lines_naming(path, "db.internal") == std::vector<int>{7});
  }
  SECTION("no entry, or no file") {
    CHECK(lines_naming(path, "198.18.9.7").empty());
    CHECK(lines_naming(path.string() + ".missing", "198.18.9.9").empty());
  }
  std::filesystem::remove(path);
}
