#include <core/maintenance.hpp>
#include <tests/unit/desired.hpp>

#include <catch2/catch.hpp>

using namespace berth;
using berth::test::has;

namespace {

manifest::Manifest maintenance_sample() {
  manifest::Manifest m;
  m.app.name = "shop";
  m.proxy = manifest::Proxy{};
  return m;
}

}  // namespace

TEST_CASE("maintenance: the page shows the message as text, never as markup") {
  const auto page = maintenance::page(maintenance_sample(), "Back at <b>noon</b> & \"soon\" 'ok'");
  CHECK(has(page, "Back at &lt;b&gt;noon&lt;/b&gt; &amp; &quot;soon&quot; &#39;ok&#39;"));
  CHECK_FALSE(has(page, "<b>"));
  CHECK(has(maintenance::page(maintenance_sample(), ""), "We are doing some maintenance"));
}

TEST_CASE("maintenance: on checks nginx before it reloads, and puts things back when it fails") {
  const auto on = maintenance::on_script(maintenance_sample(), "$(reboot) it's");
  // The page travels as one sh word, the message in it escaped for HTML.
  CHECK(has(on, "printf '%s' '<!doctype html>"));
  CHECK(has(on, "<p>$(reboot) it&#39;s</p>"));
  CHECK(has(on, "if ($shop_berth_check = 0) { return 503; }"));
  const auto test = on.find("nginx -t");
  const auto reload = on.find("systemctl reload nginx.service");
  REQUIRE(test != std::string::npos);
  REQUIRE(reload != std::string::npos);
  CHECK(test < reload);
  CHECK(has(on, "[ $was_on = yes ] || rm -f '/etc/nginx/berth/shop/maintenance/on.conf'"));
  CHECK(has(on, "run berth setup first"));
  CHECK(has(on, "rec maintenance state on"));
  const auto off = maintenance::off_script(maintenance_sample());
  CHECK(has(off, "rm -f '/etc/nginx/berth/shop/maintenance/on.conf'"));
  CHECK(has(off, "systemctl reload nginx.service"));
}
