#include <core/ssh/text.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <pwd.h>
#include <unistd.h>

using namespace berth;
using namespace berth::ssh;

TEST_CASE("text: script_command uses sudo only when needed") {
  SECTION("root login never needs sudo") {
    CHECK(script_command(Privilege::root, "root", true) == "/bin/sh -s");
  }
  SECTION("a user with become runs root work through sudo -n") {
    CHECK(script_command(Privilege::root, "deploy", true) == "sudo -n /bin/sh -s");
    CHECK(script_command(Privilege::user, "deploy", true) == "/bin/sh -s");
  }
  SECTION("without become everything runs as the user") {
    CHECK(script_command(Privilege::root, "deploy", false) == "/bin/sh -s");
  }
}

TEST_CASE("text: upload_command unpacks with tar, then lists the new files' cksums") {
  const util::Frame frame("t0k3n");
  const auto command = upload_command("/srv/my app", Privilege::root, "deploy", true, frame);
  CHECK(command.starts_with("sudo -n /bin/sh -c "));
  CHECK(command.find("tar -x -b 2048 -B -f -") != std::string::npos);
  CHECK(command.find("-cnewer") != std::string::npos);
  CHECK(command.find("xargs -0 -r cksum") != std::string::npos);
  CHECK(command.find("tee") == std::string::npos);
  // The listing is one record of the run's frame.
  CHECK(command.find("@@t0k3n begin") != std::string::npos);
  CHECK(command.find("rec_file upload listing") != std::string::npos);
  // The folder is quoted inside the quoted script.
  CHECK(command.find("my app") != std::string::npos);
  CHECK(upload_command("/tmp/x", Privilege::root, "root", true, frame).starts_with("/bin/sh -c "));
}

TEST_CASE("text: relaxes_host_key_checking spots StrictHostKeyChecking no") {
  CHECK(relaxes_host_key_checking("Host *\n  StrictHostKeyChecking no\n"));
  CHECK(relaxes_host_key_checking("stricthostkeychecking=accept-new"));
  CHECK(relaxes_host_key_checking("\tStrictHostKeyChecking \"off\""));
  CHECK_FALSE(relaxes_host_key_checking("StrictHostKeyChecking yes\n"));
  CHECK_FALSE(relaxes_host_key_checking("# StrictHostKeyChecking no\n"));
  CHECK_FALSE(relaxes_host_key_checking(""));
}

TEST_CASE("text: expand_home ($HOME), expand_ssh_home (passwd, as libssh), throughput") {
  const passwd* me = getpwuid(getuid());
  REQUIRE(me != nullptr);
  setenv("HOME", "/home/ann", 1);
  CHECK(expand_home("~/.ssh/id_ed25519") == "/home/ann/.ssh/id_ed25519");
  CHECK(expand_ssh_home("~/.ssh/config") == std::string(me->pw_dir) + "/.ssh/config");
  CHECK(expand_ssh_home("/etc/ssh/ssh_config") == "/etc/ssh/ssh_config");
  CHECK(expand_home("/etc/x") == "/etc/x");
  CHECK(throughput(200'000'000, std::chrono::milliseconds(2000)) == "100.0 MB/s");
  CHECK(throughput(1, std::chrono::milliseconds(0)) == "-");
}
