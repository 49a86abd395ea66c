#include <core/converge/apply.hpp>
#include <core/converge/probe.hpp>
#include <core/util/overloaded.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

#include <charconv>

namespace berth::converge {

using util::shell_quote;

namespace {

// Helpers every probe starts with. `v` frames a value, `vf` frames a file's bytes.
constexpr std::string_view probe_prelude = R"sh(export LC_ALL=C
v() { printf '@@berth %s %s %s\n%s\n' "$1" "$2" "${#3}" "$3"; }
vf() { printf '@@berth %s %s %s\n' "$1" "$2" "$(wc -c < "$3")"; cat "$3"; printf '\n'; }
path_state() {
  if [ -L "$2" ]; then v "$1" type symlink; v "$1" target "$(readlink "$2")";
  elif [ -d "$2" ]; then v "$1" type directory; v "$1" meta "$(stat -c '%U %G %a' "$2")";
  elif [ -f "$2" ]; then v "$1" type file; v "$1" meta "$(stat -c '%U %G %a' "$2")";
    v "$1" hash "$(sha256sum < "$2" | cut -d' ' -f1)"
    if [ "$3" = show ] && [ "$(wc -c < "$2")" -le 262144 ]; then vf "$1" content "$2"; fi
  elif [ -e "$2" ]; then v "$1" type other;
  fi
}
unit_state() {
  v "$1" enabled "$(systemctl is-enabled "$2" 2>/dev/null)"
  v "$1" active "$(systemctl is-active "$2" 2>/dev/null)"
}
)sh";

std::string probe_one(std::size_t index, const Resource& resource) {
  const auto i = std::to_string(index);
  return std::visit(
      util::Overloaded{
          [&](const Package& p) {
            return fmt::format("v {} version \"$(dpkg-query -W -f='${{db:Status-Status}} ${{Version}}' "
                               "{} 2>/dev/null)\"\n",
                               i, shell_quote(p.name));
          },
          [&](const File& f) {
            return fmt::format("path_state {} {} {}\n", i, shell_quote(f.path),
                               f.sensitive == Sensitive::yes ? "hide" : "show");
          },
          [&](const Directory& d) {
            return fmt::format("path_state {} {} hide\n", i, shell_quote(d.path));
          },
          [&](const Symlink& s) {
            return fmt::format("path_state {} {} hide\n", i, shell_quote(s.path));
          },
          [&](const Group& g) {
            return fmt::format("v {} entry \"$(getent group {})\"\n", i, shell_quote(g.name));
          },
          [&](const User& u) {
            return fmt::format(
                "v {0} entry \"$(getent passwd {1})\"; v {0} groups \"$(id -nG {1} 2>/dev/null)\"\n",
                i, shell_quote(u.name));
          },
          [&](const Unit& u) { return fmt::format("unit_state {} {}\n", i, shell_quote(u.name)); },
          [&](const Command& c) {
            return fmt::format("if {}; then v {} guard 1; else v {} guard 0; fi\n", guard_test(c),
                               i, i);
          },
      },
      resource.spec);
}

// Splits "a b c" on single spaces.
std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = text.find(' ', start);
    const auto word = text.substr(start, end == std::string_view::npos ? text.size() - start
                                                                        : end - start);
    if (!word.empty()) out.emplace_back(word);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::string four_digit_mode(std::string mode) {
  while (mode.size() < 4) mode.insert(mode.begin(), '0');
  return mode;
}

void apply_field(Observed& o, std::string_view field, std::string value) {
  if (field == "type") {
    o.exists = true;
    o.type = std::move(value);
  } else if (field == "meta") {
    const auto parts = words(value);
    if (parts.size() == 3) {
      o.owner = parts[0];
      o.group = parts[1];
      o.mode = four_digit_mode(parts[2]);
    }
  } else if (field == "hash") {
    o.hash = std::move(value);
  } else if (field == "content") {
    o.content = std::move(value);
  } else if (field == "target") {
    o.target = std::move(value);
  } else if (field == "version") {
    // "installed 1.22.1-9" when installed; "not-installed" / "config-files" / empty otherwise.
    const auto parts = words(value);
    o.exists = parts.size() == 2 && parts[0] == "installed";
    if (o.exists) o.version = parts[1];
  } else if (field == "entry") {
    // getent: name:x:uid:gid:gecos:home:shell for users, name:x:gid:members for groups.
    o.exists = !value.empty();
    std::vector<std::string> cols;
    std::size_t start = 0;
    for (auto pos = value.find(':'); ; pos = value.find(':', start)) {
      cols.push_back(value.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
      if (pos == std::string::npos) break;
      start = pos + 1;
    }
    if (cols.size() == 7) {
      o.home = cols[5];
      o.shell = cols[6];
    }
  } else if (field == "groups") {
    o.groups = words(value);
  } else if (field == "enabled") {
    o.enabled = value == "enabled" || value == "static" || value == "alias" ||
                value == "enabled-runtime" || value == "indirect" || value == "generated";
    o.exists = o.exists || (!value.empty() && value != "not-found");
  } else if (field == "active") {
    o.active_state = value;
    o.active = value == "active" || value == "reloading" || value == "activating";
  } else if (field == "guard") {
    o.guard_satisfied = value == "1";
  }
}

}  // namespace

std::string render_probe(const std::vector<Resource>& resources, const ProbeExtra& extra) {
  std::string script(probe_prelude);
  script += "v os id \"$(. /etc/os-release 2>/dev/null; echo \"$ID $VERSION_ID\")\"\n";
  for (std::size_t i = 0; i < resources.size(); ++i) script += probe_one(i, resources[i]);
  for (const auto& [name, path] : extra.read_files) {
    script += fmt::format("if [ -f {0} ]; then vf file:{1} content {0}; fi\n", shell_quote(path), name);
  }
  script += "printf '@@berth end\\n'\n";
  return script;
}

std::expected<ProbeResult, std::string> parse_probe(std::string_view output,
                                                    std::size_t resource_count) {
  ProbeResult result;
  result.resources.resize(resource_count);
  std::size_t pos = 0;
  constexpr std::string_view tag = "@@berth ";
  while (pos < output.size()) {
    const auto eol = output.find('\n', pos);
    if (eol == std::string_view::npos) break;
    const auto header = output.substr(pos, eol - pos);
    if (header == "@@berth end") return result;
    if (!header.starts_with(tag)) {
      return std::unexpected(fmt::format("unexpected probe output at byte {}: '{}'", pos,
                                         header.substr(0, 60)));
    }
    const auto parts = words(header.substr(tag.size()));
    std::size_t length = 0;
    if (parts.size() != 3 ||
        std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), length).ec !=
            std::errc{} ||
        eol + 1 + length + 1 > output.size() || output[eol + 1 + length] != '\n') {
      return std::unexpected(fmt::format("broken probe record at byte {}: '{}'", pos,
                                         header.substr(0, 60)));
    }
    std::string value(output.substr(eol + 1, length));
    const auto& subject = parts[0];
    const auto& field = parts[1];
    if (subject == "os") {
      result.facts["os"] = std::move(value);
    } else if (subject.starts_with("file:")) {
      result.files[subject.substr(5)] = std::move(value);
    } else {
      std::size_t index = 0;
      if (std::from_chars(subject.data(), subject.data() + subject.size(), index).ec !=
              std::errc{} ||
          index >= resource_count) {
        return std::unexpected(fmt::format("probe record for unknown resource '{}'", subject));
      }
      apply_field(result.resources[index], field, std::move(value));
    }
    pos = eol + 1 + length + 1;
  }
  return std::unexpected(std::string("the probe output ended early (no end marker)"));
}

}  // namespace berth::converge
