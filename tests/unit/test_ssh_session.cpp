#include <core/ssh/session.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

using namespace berth;
using namespace berth::ssh;

TEST_CASE("session: ProxyJump without a local ssh client is a clear error") {
  // The check comes before any connection: no traffic, whatever the address.
  const char* saved = std::getenv("PATH");
  const std::string path = saved != nullptr ? saved : "";
  setenv("PATH", "/nonexistent", 1);
  Target target{.name = "web", .address = "198.18.255.254", .proxy_jump = "ops@bastion:2222"};
  const auto session = Session::connect(target, Options{});
  setenv("PATH", path.c_str(), 1);

  REQUIRE_FALSE(session.has_value());
  CHECK(session.error().code() == ExitCode::unreachable);
  CHECK(std::string(session.error().what()) ==
        "web: connect: ProxyJump runs the OpenSSH client `ssh`, which is not installed here");
  CHECK(session.error().hint().find("openssh-client") != std::string::npos);
}

TEST_CASE("session: target_of copies a manifest server") {
  manifest::Server server;
  server.name = "db-1";
  server.address = "10.0.0.5";
  server.port = 2200;
  server.user = "deploy";
  server.become = false;
  server.identity_file = "~/.ssh/deploy";
  server.known_hosts = "./known_hosts";
  server.proxy_jump = "bastion";
  const auto target = target_of(server);
  CHECK(target.name == "db-1");
  CHECK(target.address == "10.0.0.5");
  CHECK(target.port == 2200);
  CHECK(target.user == "deploy");
  CHECK_FALSE(target.become);
  CHECK(target.identity_file == "~/.ssh/deploy");
  CHECK(target.known_hosts == "./known_hosts");
  CHECK(target.proxy_jump == "bastion");
}
