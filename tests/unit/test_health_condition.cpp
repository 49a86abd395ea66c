#include <core/health/condition.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace berth::health;
using namespace std::chrono_literals;

namespace {

// Parses `text` (which must be valid) and evaluates it against `o`.
Evaluation eval(std::string_view text, const Observation& o, std::span<const std::string> extra = {}) {
  auto c = parse_condition(text, extra);
  INFO(text << ": " << (c ? std::string() : c.error().message));
  REQUIRE(c.has_value());
  return evaluate(*c, o);
}

bool passes(std::string_view text, const Observation& o) { return eval(text, o).ok; }

Observation http(int status, std::string body = {}) {
  Observation o;
  o.status = status;
  o.body = std::move(body);
  o.response_time = 120ms;
  o.connected = true;
  return o;
}

}  // namespace

TEST_CASE("condition: parses into an AST") {
  const auto c = parse_condition("[BODY].data[1].id >= 10");
  REQUIRE(c.has_value());
  CHECK(c->left.kind == Operand::Kind::placeholder);
  CHECK(c->left.name == "BODY");
  REQUIRE(c->left.path.size() == 3);
  CHECK(c->left.path[0].key == "data");
  CHECK(c->left.path[1].index == 1u);
  CHECK(c->left.path[2].key == "id");
  CHECK(c->op == Op::ge);
  CHECK(c->right.kind == Operand::Kind::literal);
  CHECK(c->right.text == "10");
  CHECK(c->right.column == 22);

  const auto any = parse_condition("[STATUS] == any(200, 204)");
  REQUIRE(any.has_value());
  CHECK(any->right.kind == Operand::Kind::any);
  CHECK(any->right.choices == std::vector<std::string>{"200", "204"});
}

TEST_CASE("condition: every operator on numbers") {
  const auto o = http(200);
  CHECK(passes("[STATUS] == 200", o));
  CHECK(!passes("[STATUS] == 201", o));
  CHECK(passes("[STATUS] != 500", o));
  CHECK(!passes("[STATUS] != 200", o));
  CHECK(passes("[STATUS] < 300", o));
  CHECK(!passes("[STATUS] < 200", o));
  CHECK(passes("[STATUS] <= 200", o));
  CHECK(!passes("[STATUS] <= 199", o));
  CHECK(passes("[STATUS] > 199", o));
  CHECK(!passes("[STATUS] > 200", o));
  CHECK(passes("[STATUS] >= 200", o));
  CHECK(!passes("[STATUS] >= 201", o));
  SECTION("the literal may come first") {
    CHECK(passes("200 == [STATUS]", o));
    CHECK(passes("300 > [STATUS]", o));
  }
  SECTION("spaces are optional") { CHECK(passes("[STATUS]==200", o)); }
}

TEST_CASE("condition: any() and pat()") {
  CHECK(passes("[STATUS] == any(200, 204)", http(204)));
  CHECK(!passes("[STATUS] == any(200, 204)", http(500)));
  CHECK(passes("[STATUS] != any(500, 502, 503)", http(200)));
  CHECK(!passes("[STATUS] != any(500, 502, 503)", http(502)));
  CHECK(passes("[BODY].status == any(UP, \"ok\")", http(200, R"({"status":"ok"})")));
  CHECK(passes("[BODY] == pat(*ok*)", http(200, "all is ok here")));
  CHECK(!passes("[BODY] == pat(*ok*)", http(200, "down")));
  CHECK(passes("[BODY] != pat(*error*)", http(200, "fine")));
  CHECK(passes("[BODY].version == pat(1.?.*)", http(200, R"({"version":"1.4.2"})")));
}

TEST_CASE("condition: durations compare as milliseconds") {
  Observation o = http(200);
  o.response_time = 250ms;
  o.certificate_expiration = 30 * 24h;
  CHECK(passes("[RESPONSE_TIME] < 300", o));
  CHECK(!passes("[RESPONSE_TIME] < 200", o));
  CHECK(passes("[RESPONSE_TIME] < 1s", o));
  CHECK(passes("[RESPONSE_TIME] >= 250ms", o));
  CHECK(passes("[CERTIFICATE_EXPIRATION] > 240h", o));
  CHECK(!passes("[CERTIFICATE_EXPIRATION] > 1000h", o));
  CHECK(passes("[CERTIFICATE_EXPIRATION] > 29d12h", o));
  CHECK(eval("[RESPONSE_TIME] < 200", o).observed == "250ms");
  CHECK(eval("[CERTIFICATE_EXPIRATION] > 1000h", o).observed == "30d");
}

TEST_CASE("condition: booleans") {
  Observation o;
  o.connected = true;
  CHECK(passes("[CONNECTED] == true", o));
  CHECK(!passes("[CONNECTED] == false", o));
  CHECK(passes("[CONNECTED] != false", o));
  o.connected = false;
  CHECK(!passes("[CONNECTED] == true", o));
  CHECK(eval("[CONNECTED] == true", o).observed == "false");
}

TEST_CASE("condition: JSON paths into the body") {
  const auto o = http(200, R"({"db":"ok","count":3,"ratio":0.5,"live":true,"none":null,
    "items":[{"id":7,"tags":["a","b"]},{"id":8}],"nested":{"a":{"b":[10,20]}},"text":"x y"})");
  CHECK(passes("[BODY].db == ok", o));
  CHECK(!passes("[BODY].db == down", o));
  CHECK(passes("[BODY].count == 3", o));
  CHECK(passes("[BODY].count > 2", o));
  CHECK(passes("[BODY].ratio < 1", o));
  CHECK(passes("[BODY].live == true", o));
  CHECK(passes("[BODY].none == null", o));
  CHECK(passes("[BODY].items[0].id == 7", o));
  CHECK(passes("[BODY].items[1].id == 8", o));
  CHECK(passes("[BODY].items[0].tags[1] == b", o));
  CHECK(passes("[BODY].nested.a.b[1] == 20", o));
  CHECK(passes("[BODY].text == x y", o));
  CHECK(passes("[BODY].text == \"x y\"", o));
  SECTION("len() and has()") {
    CHECK(passes("len([BODY].items) > 0", o));
    CHECK(passes("len([BODY].items) == 2", o));
    CHECK(passes("len([BODY].db) == 2", o));
    CHECK(passes("len([BODY].nested) == 1", o));
    CHECK(passes("has([BODY].db) == true", o));
    CHECK(passes("has([BODY].errors) == false", o));
    CHECK(!passes("len([BODY].missing) > 0", o));
    CHECK(passes("len([BODY]) > 10", o));
  }
  SECTION("a missing key fails and says where") {
    const auto e = eval("[BODY].nested.x.y == 1", o);
    CHECK(!e.ok);
    CHECK(e.observed == "(missing: no key 'x' in [BODY].nested)");
    CHECK(eval("[BODY].items[5].id == 1", o).observed == "(missing: no element 5 in [BODY].items)");
    CHECK(!passes("[BODY].db != ok2", http(200, "not json")));
    CHECK(eval("[BODY].db == ok", http(200, "<html>")).observed == "(missing: [BODY] is not JSON)");
  }
  SECTION("a root array") { CHECK(passes("[BODY][1].id == 8", http(200, R"([{"id":7},{"id":8}])"))); }
}

TEST_CASE("condition: missing observations fail, never throw") {
  const Observation nothing;
  for (const char* text : {"[STATUS] == 200", "[STATUS] != 200", "[BODY] == ok", "[RESPONSE_TIME] < 300",
                           "[CERTIFICATE_EXPIRATION] > 240h", "[CONNECTED] == false",
                           "[STATUS] == any(200, 204)", "[BODY] != pat(*x*)", "len([BODY].a) == 0"}) {
    INFO(text);
    CHECK(!passes(text, nothing));
  }
  CHECK(eval("[STATUS] == 200", nothing).observed == "(missing: no HTTP status)");
  CHECK(passes("has([BODY].a) == false", nothing));
}

TEST_CASE("condition: named values from server-side checks") {
  const std::vector<std::string> extra{"DISK_USED_PERCENT", "UNIT_STATE", "LAST_RUN", "ACTIVE", "INFO"};
  Observation o;
  o.values["DISK_USED_PERCENT"] = 42.0;
  o.values["UNIT_STATE"] = std::string("active");
  o.values["LAST_RUN"] = std::chrono::milliseconds(90min);
  o.values["ACTIVE"] = true;
  o.values["INFO"] = std::string(R"({"lag":{"seconds":3}})");
  CHECK(eval("[DISK_USED_PERCENT] < 90", o, extra).ok);
  CHECK(!eval("[DISK_USED_PERCENT] > 90", o, extra).ok);
  CHECK(eval("[UNIT_STATE] == active", o, extra).ok);
  CHECK(eval("[LAST_RUN] < 2h", o, extra).ok);
  CHECK(eval("[ACTIVE] == true", o, extra).ok);
  CHECK(eval("[INFO].lag.seconds <= 5", o, extra).ok);
  CHECK(eval("[DISK_USED_PERCENT] < 30", o, extra).observed == "42");
  SECTION("an extra placeholder that was not observed fails") {
    const Observation none;
    CHECK(eval("[UNIT_STATE] == active", none, extra).observed == "(missing: [UNIT_STATE] was not observed)");
  }
  SECTION("without the extra names they are unknown") {
    CHECK(!parse_condition("[DISK_USED_PERCENT] < 90").has_value());
  }
}

TEST_CASE("condition: malformed input is an error with its column") {
  struct Case {
    const char* text;
    int column;
    const char* message;
  };
  const Case cases[] = {
      {"", 1, "empty condition"},
      {"   ", 1, "empty condition"},
      {"[STATUS]", 9, "missing an operator"},
      {"[STATUS] 200", 10, "expected an operator"},
      {"[STATUS] = 200", 10, "expected an operator"},
      {"[STATUS] === 200", 10, "expected an operator"},
      {"[STATUS] =>  200", 10, "expected an operator"},
      {"[STATUS] ==", 12, "missing a value after =="},
      {"[STATUS] ==   ", 15, "missing a value after =="},
      {"[STAUS] == 200", 1, "unknown placeholder [STAUS]; did you mean [STATUS]?"},
      {"[status] == 200", 1, "did you mean [STATUS]?"},
      {"[FOO] == 1", 1, "known placeholders: [STATUS], [BODY]"},
      {"[] == 1", 1, "empty placeholder"},
      {"[STATUS == 200", 1, "missing ']'"},
      {"[STATUS].x == 1", 9, "[STATUS] is not JSON"},
      {"[BODY]. == 1", 8, "expected a key after '.'"},
      {"[BODY].a[x] == 1", 9, "expected an array index"},
      {"[BODY].a[1 == 1", 9, "expected an array index"},
      {"[STATUS] == ok", 13, "'ok' is not a number, and [STATUS] is a number"},
      {"[STATUS] == any(200, ok)", 13, "'ok' is not a number"},
      {"[STATUS] == any(200, )", 21, "empty value in any()"},
      {"[STATUS] == any(200", 13, "missing ')' to close any("},
      {"[RESPONSE_TIME] < 3x", 19, "is not a duration"},
      {"[CERTIFICATE_EXPIRATION] > soon", 28, "is not a duration"},
      {"[CONNECTED] == yes", 16, "is not true or false"},
      {"[CONNECTED] < true", 13, "use == or !="},
      {"has([BODY].a) > 1", 15, "use == or !="},
      {"len([BODY].a) > many", 17, "is not a number"},
      {"len(5) > 1", 5, "len() takes a placeholder"},
      {"len([BODY].a > 1", 14, "missing ')' to close len("},
      {"size([BODY]) > 1", 1, "unknown function size()"},
      {"[STATUS] < any(200, 204)", 12, "only work with == and !="},
      {"[BODY] > pat(*ok*)", 10, "only work with == and !="},
      {"any(200) == [STATUS]", 1, "go on the right"},
      {"pat() == [BODY]", 1, "pat() needs a pattern"},
      {"200 == 200", 1, "nothing to check"},
      {"[STATUS] == \"200", 13, "missing closing '\"'"},
      {"[STATUS] == \"200\" extra", 19, "unexpected 'extra'"},
      {"[STATUS] == [BODY] x", 20, "unexpected 'x'"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const auto parsed = parse_condition(c.text);
    REQUIRE(!parsed.has_value());
    CHECK(parsed.error().column == c.column);
    CHECK_THAT(parsed.error().message, Catch::Contains(c.message));
    const auto e = condition_error(c.text);
    REQUIRE(e.has_value());
    CHECK(e->first == c.column);
  }
  CHECK(!condition_error("[STATUS] == 200").has_value());
  CHECK(!condition_error("[BODY].db == ok").has_value());
}

TEST_CASE("condition: placeholders compared with each other") {
  auto o = http(200, R"({"expected":200,"a":"x","b":"x"})");
  CHECK(passes("[STATUS] == [BODY].expected", o));
  CHECK(passes("[BODY].a == [BODY].b", o));
  CHECK(!passes("[BODY].a != [BODY].b", o));
}

TEST_CASE("condition: observed values are printable") {
  CHECK(eval("[STATUS] == 200", http(503)).observed == "503");
  CHECK(eval("[BODY] == ok", http(200, "line1\nline2")).observed == "line1 line2");
  CHECK(eval("[BODY] == ok", http(200, "")).observed == "\"\"");
  CHECK(eval("[BODY] == ok", http(200, std::string(500, 'a'))).observed == std::string(120, 'a') + "...");
  CHECK(eval("[BODY].a == 1", http(200, R"({"a":[1,2]})")).observed == "[1,2]");
  CHECK(eval("[BODY].a == 1", http(200, R"({"a":1.25})")).observed == "1.25");
}
