#include <core/manifest/load.hpp>
#include <core/manifest/presets.hpp>
#include <core/manifest/schema.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <unistd.h>

using namespace berth::manifest;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path source_dir = BERTH_SOURCE_DIR;

// A checker for the subset of JSON Schema that `berth schema` emits: type, enum,
// minimum, maximum, properties, required, additionalProperties (false or a schema),
// items, anyOf. Returns one line per violation.
void check(const json& value, const json& schema, const std::string& at,
           std::vector<std::string>& problems) {
  if (schema.contains("anyOf")) {
    for (const auto& alternative : schema["anyOf"]) {
      std::vector<std::string> sub;
      check(value, alternative, at, sub);
      if (sub.empty()) return;
    }
    problems.push_back(at + ": matches no alternative of anyOf");
    return;
  }
  const auto type = schema.value("type", "");
  const bool type_ok = (type == "string" && value.is_string()) ||
                       (type == "integer" && value.is_number_integer()) ||
                       (type == "boolean" && value.is_boolean()) ||
                       (type == "array" && value.is_array()) ||
                       (type == "object" && value.is_object());
  if (!type_ok) {
    problems.push_back(at + ": not of type " + type);
    return;
  }
  if (schema.contains("enum") &&
      std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
    problems.push_back(at + ": not one of the enum values");
  }
  if (schema.contains("minimum") && value.get<long long>() < schema["minimum"].get<long long>()) {
    problems.push_back(at + ": below minimum");
  }
  if (schema.contains("maximum") && value.get<long long>() > schema["maximum"].get<long long>()) {
    problems.push_back(at + ": above maximum");
  }
  if (type == "array") {
    for (std::size_t i = 0; i < value.size(); ++i) {
      check(value[i], schema["items"], at + "[" + std::to_string(i) + "]", problems);
    }
  }
  if (type == "object") {
    for (const auto& key : schema.value("required", json::array())) {
      if (!value.contains(key.get<std::string>())) {
        problems.push_back(at + ": missing required " + key.get<std::string>());
      }
    }
    const auto properties = schema.value("properties", json::object());
    const auto additional = schema.value("additionalProperties", json(true));
    for (const auto& [key, item] : value.items()) {
      if (properties.contains(key)) {
        check(item, properties[key], at + "." + key, problems);
      } else if (additional.is_object()) {
        check(item, additional, at + "." + key, problems);
      } else if (additional == json(false)) {
        problems.push_back(at + ": unknown key " + key);
      }
    }
  }
}

std::vector<std::string> problems_of(const json& document) {
  std::vector<std::string> problems;
  check(document, to_json_schema(manifest_schema()), "$", problems);
  return problems;
}

json toml_to_json(const toml::table& table) {
  std::ostringstream out;
  out << toml::json_formatter{table};
  return json::parse(out.str());
}

std::vector<fs::path> example_manifests() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(source_dir / "examples")) {
    if (fs::exists(entry.path() / "berth.toml")) out.push_back(entry.path() / "berth.toml");
  }
  return out;
}

// Every key name the schema knows, for the documentation check.
void key_names(const Schema& s, std::set<std::string>& out) {
  for (const auto& p : s.properties) {
    out.insert(p.name);
    key_names(p, out);
  }
  for (const auto& e : s.element) key_names(e, out);
  for (const auto& a : s.alternatives) key_names(a, out);
}

// The allowed values of every string key that has them, by key name (a name used in
// two places, like `kind`, gets the values of both).
void allowed_values(const Schema& s, std::map<std::string, std::set<std::string>>& out) {
  if (!s.allowed.empty()) out[s.name].insert(s.allowed.begin(), s.allowed.end());
  for (const auto& p : s.properties) allowed_values(p, out);
  for (const auto& e : s.element) {
    auto item = e;
    if (item.name.empty()) item.name = s.name;  // an array's items: `roles = ["app"]`
    allowed_values(item, out);
  }
  for (const auto& a : s.alternatives) {
    auto alternative = a;
    alternative.name = s.name;
    allowed_values(alternative, out);
  }
}

}  // namespace

TEST_CASE("schema: the checker sees what the schema forbids") {
  const auto good = json::parse(R"({"app": {"name": "a", "run": {"command": "x"}},
                                     "servers": {"web": {"address": "a"}}})");
  CHECK(problems_of(good).empty());
  auto unknown = good;
  unknown["servers"]["web"]["prot"] = 22;
  CHECK(problems_of(unknown) == std::vector<std::string>{"$.servers.web: unknown key prot"});
  auto missing = good;
  missing["app"].erase("name");
  CHECK(problems_of(missing) == std::vector<std::string>{"$.app: missing required name"});
  auto range = good;
  range["servers"]["web"]["port"] = 0;
  CHECK(problems_of(range) == std::vector<std::string>{"$.servers.web.port: below minimum"});
  auto secret = good;
  secret["app"]["run"]["secrets"] = {{"A", "${secret:A}"}, {"B", {{"generate", true}}},
                                     {"C", {{"length", 3}}}};
  CHECK(problems_of(secret) == std::vector<std::string>{"$.app.run.secrets.C: matches no alternative of anyOf"});
}

TEST_CASE("schema: every example manifest fits the schema") {
  const auto examples = example_manifests();
  REQUIRE_FALSE(examples.empty());
  for (const auto& path : examples) {
    INFO(path.string());
    const auto document = toml_to_json(toml::parse_file(path.string()));
    CHECK(problems_of(document) == std::vector<std::string>{});
    const auto loaded = load(path.string());
    for (const auto& d : loaded.diagnostics) INFO(d.to_string());
    CHECK(loaded.ok());
  }
}

TEST_CASE("schema: the unit-test manifest with every section fits the schema") {
  const auto path = source_dir / "tests/unit/data/manifests/full.toml";
  CHECK(problems_of(toml_to_json(toml::parse_file(path.string()))) == std::vector<std::string>{});
}

TEST_CASE("schema: every init preset is valid, warning-free and fits the schema") {
  static std::atomic<int> counter{0};
  for (const auto& preset : presets()) {
    INFO(preset.name);
    const auto dir = fs::temp_directory_path() / ("berth-preset-test-" + std::to_string(::getpid()) +
                                                  "-" + std::to_string(counter++));
    fs::create_directories(dir);
    std::ofstream(dir / "berth.toml") << preset.text;
    const auto result = load((dir / "berth.toml").string());
    fs::remove_all(dir);
    for (const auto& d : result.diagnostics) INFO(d.to_string());
    CHECK(result.ok());
    CHECK(result.diagnostics.empty());
    CHECK(problems_of(toml_to_json(toml::parse(preset.text))) == std::vector<std::string>{});
  }
  CHECK(find_preset("node-postgres"));
  CHECK_FALSE(find_preset("rails"));
}

TEST_CASE("schema: the document is JSON Schema draft-07 describing every key") {
  const auto document = to_json_schema(manifest_schema());
  CHECK(document["$schema"] == "http://json-schema.org/draft-07/schema#");
  CHECK(document["required"] == json::array({"app", "servers"}));
  CHECK(document["properties"]["servers"]["additionalProperties"]["required"] ==
        json::array({"address"}));
  CHECK(document["properties"]["databases"]["additionalProperties"]["properties"]["engine"]["enum"]
            .size() == 4);

  SECTION("docs/manifest.md documents every key") {
    std::ifstream in(source_dir / "docs/manifest.md");
    REQUIRE(in);
    const std::string docs((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::set<std::string> keys;
    key_names(manifest_schema(), keys);
    for (const auto& key : keys) {
      INFO(key);
      CHECK(docs.find("`" + key + "`") != std::string::npos);
    }
  }
}

TEST_CASE("schema: every key = \"value\" the docs and examples write is a value the manifest takes") {
  std::map<std::string, std::set<std::string>> allowed;
  allowed_values(manifest_schema(), allowed);
  REQUIRE(allowed["tls"].contains("self-signed"));
  REQUIRE(allowed["roles"].contains("app"));
  std::vector<fs::path> files{source_dir / "README.md"};
  for (const auto* folder : {"docs", "examples"}) {
    for (const auto& entry : fs::recursive_directory_iterator(source_dir / folder)) {
      const auto ext = entry.path().extension();
      if (ext == ".md" || ext == ".toml" || ext == ".yml") files.push_back(entry.path());
    }
  }
  // `key = "value"` and `key = ["value", ...]`, wherever they are written.
  const std::regex assignment(R"re(\b([a-z_]+) = (\[[^\]\n]*\]|"[^"\n]*"))re");
  const std::regex quoted(R"re("([^"\n]*)")re");
  for (const auto& file : files) {
    std::ifstream in(file);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::sregex_iterator it(text.begin(), text.end(), assignment), end; it != end; ++it) {
      const auto values = allowed.find((*it)[1].str());
      if (values == allowed.end()) continue;
      const auto written = (*it)[2].str();
      for (std::sregex_iterator v(written.begin(), written.end(), quoted); v != end; ++v) {
        INFO(file.string() << ": " << it->str());
        CHECK(values->second.contains((*v)[1].str()));
      }
    }
  }
}
