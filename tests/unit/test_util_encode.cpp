#include <core/util/encode.hpp>

#include <catch2/catch.hpp>

using namespace berth::util;

TEST_CASE("encode: nginx strings keep quotes, backslashes and dollars as text") {
  CHECK(nginx_quoted(R"(v" always; add_header X "1)") == R"(v\" always; add_header X \"1)");
  CHECK(nginx_quoted(R"(a\b)") == R"(a\\b)");
  CHECK(nginx_quoted("$5 $host", "${d}") == "${d}5 ${d}host");
  CHECK(nginx_quoted("$5") == "$5");  // a regex: no variables
}

TEST_CASE("encode: systemd env values keep line breaks, quotes and backslashes") {
  CHECK(systemd_env_quoted("a\nb") == "\"a\nb\"");
  CHECK(systemd_env_quoted(R"(say "hi" \ $HOME `x`)") == R"("say \"hi\" \\ $HOME `x`")");
  CHECK(systemd_env_quoted("") == "\"\"");
}

TEST_CASE("encode: regex_escape makes a text match itself") {
  CHECK(regex_escape("a.b*c") == R"(a\.b\*c)");
  CHECK(regex_escape("(x|y)$") == R"(\(x\|y\)\$)");
}

TEST_CASE("encode: a curl config value stays on its line") {
  CHECK(curl_config_quoted("https://h/x?a=\"b\"\\") == R"("https://h/x?a=\"b\"\\")");
  CHECK(curl_config_quoted("a\nurl = evil") == R"("a\nurl = evil")");
}

TEST_CASE("encode: HTML text stays text") {
  CHECK(berth::util::html_escaped("<script>alert(\"x\" & 'y')</script>") ==
        "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;");
  CHECK(berth::util::html_escaped("plain text") == "plain text");
}
