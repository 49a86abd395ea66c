#include <core/sandbox/naming.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

using namespace berth::sandbox;

TEST_CASE("naming: sandbox names are checked") {
  CHECK(name_problem("demo").empty());
  CHECK(name_problem("fleet-2").empty());
  CHECK(name_problem(std::string(32, 'a')).empty());

  SECTION("invalid names say why") {
    CHECK_FALSE(name_problem("").empty());
    CHECK_FALSE(name_problem(std::string(33, 'a')).empty());
    CHECK_FALSE(name_problem("2fast").empty());
    CHECK_FALSE(name_problem("Demo").empty());
    CHECK_FALSE(name_problem("a_b").empty());
    CHECK_FALSE(name_problem("a/b").empty());
    CHECK_FALSE(name_problem("trailing-").empty());
  }
}

TEST_CASE("naming: interface names fit in 15 characters") {
  CHECK(bridge_name("demo") == "berth-demo");
  CHECK(bridge_name("123456789x").size() <= 15);
  CHECK(bridge_name("abcdefghi") == "berth-abcdefghi");

  SECTION("long names are shortened with a stable hash") {
    const auto a = bridge_name("integration-tests");
    const auto b = bridge_name("integration-tests-2");
    CHECK(a.size() <= 15);
    CHECK(b.size() <= 15);
    CHECK(a != b);
    CHECK(a == bridge_name("integration-tests"));
    CHECK(a.starts_with("berth-inte"));
  }
  SECTION("veth names stay short for the largest subnet and host") {
    CHECK(veth_name(1, 1) == "berth1v1");
    CHECK(veth_name(last_subnet, max_hosts).size() <= 15);
  }
}

TEST_CASE("naming: machines belong to exactly one sandbox") {
  CHECK(machine_name("fleet", 2) == "berth-fleet-2");
  CHECK(is_machine_of("berth-fleet-2", "fleet"));
  CHECK_FALSE(is_machine_of("berth-fleet-2-1", "fleet"));
  CHECK(is_machine_of("berth-fleet-2-1", "fleet-2"));
  CHECK_FALSE(is_machine_of("berth-fleet-", "fleet"));
  CHECK_FALSE(is_machine_of("other-fleet-1", "fleet"));
}

TEST_CASE("naming: server names") {
  CHECK(server_name("demo", 1, 1) == "demo");
  CHECK(server_name("fleet", 1, 3) == "fleet-1");
  CHECK(server_name("fleet", 3, 3) == "fleet-3");
}

TEST_CASE("naming: addresses come from 198.18.0.0/15") {
  CHECK(host_address(1, 0) == "198.18.1.1");
  CHECK(host_address(1, 1) == "198.18.1.2");
  CHECK(host_address(255, 3) == "198.18.255.4");
  CHECK(host_address(256, 1) == "198.19.0.2");
  CHECK(host_address(last_subnet, max_hosts) == "198.19.255.51");
  CHECK(subnet_cidr(2) == "198.18.2.0/24");
  CHECK(subnet_cidr(300) == "198.19.44.0/24");

  SECTION("subnet_of inverts host_address") {
    CHECK(subnet_of("198.18.1.2") == 1);
    CHECK(subnet_of("198.19.0.2") == 256);
    CHECK(subnet_of(host_address(last_subnet, 5)) == last_subnet);
    CHECK_FALSE(subnet_of("198.20.0.1"));
    CHECK_FALSE(subnet_of("10.0.0.1"));
    CHECK_FALSE(subnet_of("198.18.1"));
    CHECK_FALSE(subnet_of("198.18.1.300"));
    CHECK_FALSE(subnet_of("198.18.x.1"));
  }
}

TEST_CASE("naming: subnet allocation takes the lowest free /24") {
  CHECK(allocate_subnet({}) == first_subnet);
  CHECK(allocate_subnet({1, 2, 4}) == 3);
  CHECK(allocate_subnet({0, 1}) == 2);

  SECTION("none left") {
    std::set<int> all;
    for (int i = first_subnet; i <= last_subnet; ++i)
      all.insert(i);
    CHECK_FALSE(allocate_subnet(all));
  }
}

TEST_CASE("naming: host references") {
  auto ref = parse_host_ref("fleet/2");
  REQUIRE(ref);
  CHECK(ref->sandbox == "fleet");
  CHECK(ref->host == 2);
  auto plain = parse_host_ref("demo");
  REQUIRE(plain);
  CHECK(plain->host == 1);

  SECTION("malformed references") {
    CHECK_FALSE(parse_host_ref("fleet/0"));
    CHECK_FALSE(parse_host_ref("fleet/"));
    CHECK_FALSE(parse_host_ref("fleet/x"));
    CHECK_FALSE(parse_host_ref("fleet/999"));
    CHECK_FALSE(parse_host_ref("Fleet/1"));
    CHECK_FALSE(parse_host_ref("/1"));
  }
}

TEST_CASE("naming: the stanza is TOML for berth.toml") {
  const std::vector<StanzaHost> hosts = {
      {"fleet-1", "198.18.2.2", "/var/lib/berth/sandbox/fleet/id_ed25519",
       "/var/lib/berth/sandbox/fleet/known_hosts"},
      {"fleet-2", "198.18.2.3", "/var/lib/berth/sandbox/fleet/id_ed25519",
       "/var/lib/berth/sandbox/fleet/known_hosts"}};
  CHECK(render_stanza(hosts) == "[servers.fleet-1]\n"
                                "address = \"198.18.2.2\"\n"
                                "user = \"root\"\n"
                                "identity_file = \"/var/lib/berth/sandbox/fleet/id_ed25519\"\n"
                                "known_hosts = \"/var/lib/berth/sandbox/fleet/known_hosts\"\n"
                                "\n"
                                "[servers.fleet-2]\n"
                                "address = \"198.18.2.3\"\n"
                                "user = \"root\"\n"
                                "identity_file = \"/var/lib/berth/sandbox/fleet/id_ed25519\"\n"
                                "known_hosts = \"/var/lib/berth/sandbox/fleet/known_hosts\"\n");

  SECTION("paths are escaped") {
    const auto text = render_stanza({{"x", "198.18.1.2", "/tmp/a \"b\"\\c", "/k"}});
    CHECK(text.find("identity_file = \"/tmp/a \\\"b\\\"\\\\c\"\n") != std::string::npos);
  }
  SECTION("no hosts, no text") {
    CHECK(render_stanza({}).empty());
  }
}

TEST_CASE("naming: the cache key follows the recipe") {
  const auto base = default_recipe();
  const auto key = cache_key(base);
  const auto version = fmt::format("-v{}-", base.version);
  CHECK(key.starts_with("bookworm-" + base.architecture + version));
  CHECK(key.size() == std::string("bookworm-").size() + base.architecture.size() + version.size() + 8);
  CHECK(cache_key(base) == key);

  SECTION("any change of the recipe changes the key") {
    auto more = base;
    more.packages.push_back("curl");
    CHECK(cache_key(more) != key);
    auto bumped = base;
    bumped.version = base.version + 1;
    CHECK(cache_key(bumped) != key);
    CHECK(cache_key(bumped).find(fmt::format("-v{}-", bumped.version)) != std::string::npos);
    auto other_suite = base;
    other_suite.suite = "trixie";
    CHECK(cache_key(other_suite) != key);
  }
  SECTION("each Debian release has its own cache") {
    CHECK(default_recipe(12).suite == "bookworm");
    CHECK(default_recipe(13).suite == "trixie");
    CHECK(cache_key(default_recipe(13)).starts_with("trixie-"));
  }
  SECTION("the recipe has what berth needs and no python") {
    const auto& p = base.packages;
    for (const char* needed : {"systemd", "systemd-sysv", "openssh-server", "sudo"}) {
      CHECK(std::find(p.begin(), p.end(), needed) != p.end());
    }
    CHECK(std::none_of(p.begin(), p.end(),
                       [](const std::string& name) { return name.starts_with("python"); }));
  }
}

TEST_CASE("naming: the recipe version of a cache key of the same suite and architecture") {
  const auto base = default_recipe();
  CHECK(cache_key_version(cache_key(base), base) == base.version);
  auto older = base;
  older.version = 1;
  CHECK(cache_key_version(cache_key(older), base) == 1);
  CHECK_FALSE(cache_key_version(cache_key(older) + ".partial", base));
  auto other_suite = base;
  other_suite.suite = "trixie";
  CHECK_FALSE(cache_key_version(cache_key(other_suite), base));
  CHECK_FALSE(cache_key_version("bookworm-" + base.architecture + "-vX-00000000", base));
  CHECK_FALSE(cache_key_version(".lock", base));
}
