#pragma once

// Encoders: a value written into a file of some syntax stays one value, whatever it
// holds. Every value from the manifest (or a secret) that lands in a server file goes
// through the encoder of that file's syntax (docs/security.md); names are validated by
// `berth check` instead. Generic: knows nothing of berth.

#include <string>
#include <string_view>

namespace berth::util {

// `text` as the content of an nginx double-quoted string: \ and " escaped. nginx
// reads `$` as the start of a variable in most directives: there, `dollar` (e.g.
// "${app_dollar}", a variable set to "$" by a `geo` block) stands for each one; leave
// it empty where the directive reads no variables (a map's regex). Control characters
// are the caller's to refuse: nginx would keep them.
std::string nginx_quoted(std::string_view text, std::string_view dollar = {});

// `text` as a double-quoted value of a systemd EnvironmentFile= line, quotes
// included: \ and " escaped, line breaks kept as they are (systemd keeps them inside
// double quotes), so the process gets the value byte for byte. A NUL cannot be in an
// environment: the caller refuses it.
std::string systemd_env_quoted(std::string_view text);

// `text` as a double-quoted value of a curl config file (`url = "..."`), quotes
// included: \ and " escaped, tab, CR and LF as \t, \r, \n (a line break would end
// the option and start another).
std::string curl_config_quoted(std::string_view text);

// `text` as HTML text or an attribute value: & < > " ' as character references.
std::string html_escaped(std::string_view text);

// `text` with the metacharacters of a PCRE regular expression escaped: it matches itself.
std::string regex_escape(std::string_view text);

}  // namespace berth::util
