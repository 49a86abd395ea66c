#include <core/layout/layout.hpp>
#include <core/maintenance.hpp>
#include <core/util/encode.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

namespace berth::maintenance {

namespace {

using util::html_escaped;

std::string rule_file(const manifest::Manifest& m) { return layout::maintenance_dir(m) + "/on.conf"; }

// Shell lines that record whether maintenance is on.
std::string record_state(const manifest::Manifest& m) {
  return fmt::format("if [ -f {} ]; then rec maintenance state on; else rec maintenance state off; fi\n",
                     rule_file(m));
}

}  // namespace

std::string page(const manifest::Manifest& m, std::string_view message) {
  const auto text = message.empty() ? std::string("We are doing some maintenance and will be back shortly.")
                                    : html_escaped(message);
  return fmt::format(
      "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>{0}: maintenance</title></head>\n"
      "<body style=\"font-family: sans-serif; max-width: 40em; margin: 4em auto; padding: 0 1em\">\n"
      "<h1>Down for maintenance</h1>\n<p>{1}</p>\n</body>\n</html>\n",
      html_escaped(m.app.name), text);
}

std::string on_script(const manifest::Manifest& m, std::string_view message) {
  using util::shell_quote;
  const auto dir = layout::maintenance_dir(m);
  return fmt::format(
      "set -u\n"
      "if [ ! -d {dir} ] || [ ! -f {check} ]; then\n"
      "  echo 'this server has no maintenance page yet: run berth setup first'; exit 1\n"
      "fi\n"
      "printf '%s' {page} > {dir}/index.html.berth-new && chmod 0644 {dir}/index.html.berth-new &&\n"
      "  mv -f {dir}/index.html.berth-new {dir}/index.html || exit 1\n"
      "was_on=no; [ -f {rule} ] && was_on=yes\n"
      "printf '# Managed by berth maintenance: every request but berth'\"'\"'s own checks gets 503.\\n"
      "if (${app}_berth_check = 0) {{ return 503; }}\\n' > {rule}.berth-new && mv -f {rule}.berth-new {rule} || exit 1\n"
      "if ! out=$(nginx -t 2>&1); then\n"
      "  [ $was_on = yes ] || rm -f {rule}\n"
      "  printf 'nginx -t failed, maintenance left as it was:\\n%s\\n' \"$out\"; exit 1\n"
      "fi\n"
      "if [ $was_on = no ]; then\n{reload}fi\n"
      "{state}",
      fmt::arg("dir", shell_quote(dir)), fmt::arg("check", shell_quote(layout::check_token_file(m))),
      fmt::arg("page", shell_quote(page(m, message))), fmt::arg("rule", shell_quote(rule_file(m))),
      fmt::arg("app", m.app.name), fmt::arg("reload", layout::nginx_reload("exit 1")),
      fmt::arg("state", record_state(m)));
}

std::string off_script(const manifest::Manifest& m) {
  return fmt::format(
      "if [ -f {rule} ]; then\n"
      "  rm -f {rule} || exit 1\n"
      "  systemctl is-active -q nginx.service && {{\n{reload}  }}\n"
      "fi\n"
      "{state}",
      fmt::arg("rule", util::shell_quote(rule_file(m))), fmt::arg("reload", layout::nginx_reload("exit 1")),
      fmt::arg("state", record_state(m)));
}

std::string status_script(const manifest::Manifest& m) { return record_state(m); }

}  // namespace berth::maintenance
