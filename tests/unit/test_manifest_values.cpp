#include <core/manifest/values.hpp>
#include <core/output/redact.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

using namespace berth::manifest;
namespace fs = std::filesystem;

namespace {

// An environment for the test only.
EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    if (auto it = vars.find(name); it != vars.end()) return it->second;
    return std::nullopt;
  };
}

// A manifest whose folder is a fresh temporary one (removed by the destructor).
struct TempManifest {
  Manifest manifest;
  TempManifest() {
    static std::atomic<int> counter{0};
    manifest.dir = fs::temp_directory_path() / ("berth-values-test-" + std::to_string(::getpid()) +
                                                "-" + std::to_string(counter++));
    fs::create_directories(manifest.dir / ".berth");
  }
  ~TempManifest() { fs::remove_all(manifest.dir); }
  void secrets_file(const std::string& text) const {
    std::ofstream(manifest.dir / ".berth" / "secrets") << text;
  }
};

}  // namespace

TEST_CASE("values: reference syntax is checked offline") {
  SECTION("references are found in order") {
    auto refs = parse_references("postgres://${env:USER}:${secret:DB_PASSWORD}@host/db");
    REQUIRE(refs);
    REQUIRE(refs->size() == 2);
    CHECK((*refs)[0].kind == Reference::Kind::env);
    CHECK((*refs)[0].name == "USER");
    CHECK((*refs)[1].kind == Reference::Kind::secret);
    CHECK((*refs)[1].name == "DB_PASSWORD");
  }
  SECTION("plain text and escaped $${ hold no reference") {
    CHECK(parse_references("plain")->empty());
    CHECK(parse_references("cost: $5")->empty());
    CHECK(parse_references("$${env:NOT_A_REF}")->empty());
  }
  SECTION("mistakes") {
    CHECK(parse_references("${env:X").error().find("never closed") != std::string::npos);
    CHECK(parse_references("${vault:X}").error().find("is not a reference") != std::string::npos);
    CHECK(parse_references("${X}").error().find("is not a reference") != std::string::npos);
    CHECK(parse_references("${env:9X}").error().find("not a valid name") != std::string::npos);
    CHECK(parse_references("${secret:}").error().find("not a valid name") != std::string::npos);
  }
}

TEST_CASE("values: resolving env references gives plain text") {
  TempManifest t;
  SecretSources sources(t.manifest, fake_env({{"HOST", "db.internal"}}));
  auto v = resolve_value("https://${env:HOST}/x and $${literal}", sources);
  REQUIRE(v);
  CHECK_FALSE(v->from_secret);
  CHECK(v->text == "https://db.internal/x and ${literal}");
  CHECK(v->reveal() == v->text);

  auto missing = resolve_value("${env:NOPE}", sources);
  REQUIRE_FALSE(missing);
  CHECK(std::string(missing.error().what()).find("NOPE is not set") != std::string::npos);
}

TEST_CASE("values: secrets come from their sources and are redacted") {
  TempManifest t;
  t.secrets_file("# comment\nFROM_FILE = \"file-secret-value\"\nBOTH=file-loses\n");
  t.manifest.secrets.push_back({"RENAMED", "", "OTHER_VAR", {}});
  t.manifest.secrets.push_back({"FROM_CMD", "printf 'command-secret-value\\n'", "", {}});
  t.manifest.secrets.push_back({"FAILS", "exit 3", "", {}});
  SecretSources sources(t.manifest,
                        fake_env({{"BOTH", "env-wins-value"}, {"OTHER_VAR", "renamed-value"}}));

  SECTION("the environment first, then [secrets.NAME] env, the file, the command") {
    CHECK(sources.get("BOTH")->reveal() == "env-wins-value");
    CHECK(sources.get("RENAMED")->reveal() == "renamed-value");
    CHECK(sources.get("FROM_FILE")->reveal() == "file-secret-value");
    CHECK(sources.get("FROM_CMD")->reveal() == "command-secret-value");
  }
  SECTION("a resolved value holding a secret is a Secret, redacted everywhere") {
    auto v = resolve_value("postgres://app:${secret:FROM_FILE}@db/app", sources);
    REQUIRE(v);
    CHECK(v->from_secret);
    CHECK(v->text.empty());
    CHECK(v->reveal() == "postgres://app:file-secret-value@db/app");
    CHECK(berth::redact("url=" + v->reveal()) == "url=[secret]");
  }
  SECTION("failures name the secret and what was tried") {
    auto missing = sources.get("NOWHERE");
    REQUIRE_FALSE(missing);
    CHECK(std::string(missing.error().what()).find("secret NOWHERE not found") != std::string::npos);
    CHECK(missing.error().hint().find(".berth/secrets") != std::string::npos);
    auto failed = sources.get("FAILS");
    REQUIRE_FALSE(failed);
    CHECK(std::string(failed.error().what()).find("exited with status 3") != std::string::npos);
  }
}
