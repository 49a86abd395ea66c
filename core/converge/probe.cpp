#include <core/converge/apply.hpp>
#include <core/converge/plan.hpp>
#include <core/converge/probe.hpp>
#include <core/util/embedded.hpp>
#include <core/util/hash.hpp>
#include <core/util/overloaded.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace berth::converge {

using util::shell_quote;

namespace {

// Helpers every probe starts with (after the transport's frame prelude, which defines
// `rec`, `rec_file` and `rec_end`: core/remote.hpp). A probe forks as little as
// it can: on a shared or small server each fork costs about a millisecond, and a
// no-op run is this script and nothing else.
// - path_state: one `stat` per path (owner, group, mode and size); a file whose
//   content is shown is sent whole (its hash is computed here, not on the server),
//   a hidden one is hashed with sha256sum.
// - packages: one dpkg-query for all of them, looked up per package with builtins.
// - units: one `systemctl show` for all of them; its blocks come in argument order.
const std::string_view probe_prelude = util::embedded("core/sh/probe.sh");

std::string probe_one(std::size_t index, const Resource& resource) {
  const auto i = std::to_string(index);
  return std::visit(
      util::Overloaded{
          [&](const Package& p) { return fmt::format("package_state {} {}\n", i, shell_quote(p.name)); },
          [&](const File& f) {
            auto line = fmt::format("path_state {} {} {}\n", i, shell_quote(f.path),
                                    f.sensitive == Sensitive::yes ? "hide" : "show");
            // A backup left by a run cut off during validation (apply.hpp).
            if (!f.validate.empty()) {
              line += fmt::format("if [ -e {0} ] || [ -e {0}.none ]; then rec {1} unvalidated 1; fi\n",
                                  validation_backup(f.path), i);
            }
            return line;
          },
          [&](const Directory& d) {
            return fmt::format("path_state {} {} hide\n", i, shell_quote(d.path));
          },
          [&](const Symlink& s) {
            return fmt::format("path_state {} {} hide\n", i, shell_quote(s.path));
          },
          [&](const Group& g) {
            return fmt::format("rec {} entry \"$(getent group {})\"\n", i, shell_quote(g.name));
          },
          [&](const User& u) {
            return fmt::format(
                "rec {0} entry \"$(getent passwd {1})\"; rec {0} groups \"$(id -nG {1} 2>/dev/null)\"\n",
                i, shell_quote(u.name));
          },
          // All units are probed by one `systemctl show` (render_probe).
          [&](const Unit&) { return std::string(); },
          [&](const Command& c) {
            return fmt::format("if {}; then rec {} guard 1; else rec {} guard 0; fi\n", guard_test(c),
                               i, i);
          },
      },
      resource.spec);
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
    const auto parts = util::fields(value);
    if (parts.size() == 3) {
      o.owner = parts[0];
      o.group = parts[1];
      o.mode = four_digit_mode(std::string(parts[2]));
    }
  } else if (field == "hash") {
    o.hash = value.substr(0, value.find(' '));
  } else if (field == "content") {
    o.content = std::move(value);
  } else if (field == "target") {
    o.target = std::move(value);
  } else if (field == "version") {
    // "installed 1.22.1-9" when installed; "not-installed" / "config-files" / empty otherwise.
    const auto parts = util::fields(value);
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
    o.groups.clear();
    for (auto group : util::fields(value)) o.groups.emplace_back(group);
  } else if (field == "enabled") {
    o.enabled = value == "enabled" || value == "static" || value == "alias" ||
                value == "enabled-runtime" || value == "indirect" || value == "generated";
    o.exists = o.exists || (!value.empty() && value != "not-found");
  } else if (field == "active") {
    o.active_state = value;
    o.active = value == "active" || value == "reloading" || value == "activating";
  } else if (field == "unvalidated") {
    o.unvalidated = true;
  } else if (field == "guard") {
    o.guard_satisfied = value == "1";
  }
}

// `systemctl show -p LoadState -p UnitFileState -p ActiveState U1 U2...`: one block
// of KEY=VALUE lines per unit, blank-line separated, in the order of `indices`.
std::string apply_units(ProbeResult& result, std::string_view indices, std::string_view blocks) {
  std::vector<std::size_t> order;
  for (std::size_t start = 0; start <= indices.size();) {
    const auto comma = std::min(indices.find(',', start), indices.size());
    std::size_t index = 0;
    if (std::from_chars(indices.data() + start, indices.data() + comma, index).ec != std::errc{} ||
        index >= result.resources.size()) {
      return fmt::format("probe record for unknown units '{}'", indices.substr(0, 60));
    }
    order.push_back(index);
    start = comma + 1;
  }
  std::size_t unit = 0;
  std::size_t pos = 0;
  while (pos <= blocks.size() && unit < order.size()) {
    auto end = blocks.find("\n\n", pos);
    if (end == std::string_view::npos) end = blocks.size();
    auto& o = result.resources[order[unit++]];
    for (std::size_t line = pos; line < end;) {
      const auto eol = std::min(blocks.find('\n', line), end);
      const auto text = blocks.substr(line, eol - line);
      const auto eq = text.find('=');
      if (eq != std::string_view::npos) {
        const auto key = text.substr(0, eq);
        std::string value(text.substr(eq + 1));
        if (key == "LoadState") o.exists = !value.empty() && value != "not-found";
        if (key == "UnitFileState") apply_field(o, "enabled", std::move(value));
        if (key == "ActiveState") apply_field(o, "active", std::move(value));
      }
      line = eol + 1;
    }
    pos = end + 2;
  }
  return {};
}

}  // namespace

std::string render_probe(const std::vector<Resource>& resources, const ProbeExtra& extra) {
  std::string script(probe_prelude);
  std::string packages, units, unit_indices;
  for (std::size_t i = 0; i < resources.size(); ++i) {
    if (const auto* p = std::get_if<Package>(&resources[i].spec)) packages += " " + shell_quote(p->name);
    if (const auto* u = std::get_if<Unit>(&resources[i].spec)) {
      units += " " + shell_quote(u->name);
      unit_indices += (unit_indices.empty() ? "" : ",") + std::to_string(i);
    }
  }
  if (!packages.empty()) {
    script += "packages=$(dpkg-query -W -f='${Package} ${db:Status-Status} ${Version}\\n'" + packages +
              " 2>/dev/null)\n";
  }
  for (std::size_t i = 0; i < resources.size(); ++i) script += probe_one(i, resources[i]);
  if (!units.empty()) {
    script += fmt::format("rec units {} \"$(systemctl show -p LoadState -p UnitFileState -p ActiveState{} "
                          "2>/dev/null)\"\n",
                          unit_indices, units);
  }
  for (const auto& [name, path] : extra.read_files) {
    script += fmt::format("if [ -f {} ]; then rec_file file:{} content {}; fi\n", shell_quote(path),
                          name, shell_quote(path));
  }
  for (std::size_t i = 0; i < extra.expect_files.size(); ++i) {
    script += fmt::format("if [ -f {0} ]; then rec_file expect:{1} content {0}; fi\n",
                          shell_quote(extra.expect_files[i]), i);
  }
  if (!extra.read_dir.empty()) {
    script += fmt::format("for f in {}/*; do [ -f \"$f\" ] && rec_file \"dir:${{f##*/}}\" content \"$f\"; done\n",
                          shell_quote(extra.read_dir));
  }
  // Handlers an interrupted run still owes (apply.hpp): globbing forks nothing.
  script += fmt::format("for f in {}/*; do [ -e \"$f\" ] && rec owed handler \"${{f##*/}}\"; done\n", owed_dir);
  script += "rec_end\n";
  return script;
}

std::expected<ProbeResult, std::string> parse_probe(const std::vector<util::Record>& records,
                                                    bool ended, std::size_t resource_count) {
  ProbeResult result;
  result.resources.resize(resource_count);
  for (const auto& [subject, field, value] : records) {
    if (subject == "os") {
      result.facts["os"] = value;
    } else if (subject == "units") {
      if (auto error = apply_units(result, field, value); !error.empty()) {
        return std::unexpected("probe: " + error);
      }
    } else if (subject.starts_with("expect:")) {
      std::size_t index = 0;
      const auto n = subject.substr(7);
      if (std::from_chars(n.data(), n.data() + n.size(), index).ec != std::errc{}) {
        return std::unexpected(fmt::format("probe: record for unknown expectation '{}'", subject));
      }
      result.expected[index] = value;
    } else if (subject.starts_with("dir:")) {
      result.dir_files[subject.substr(4)] = value;
    } else if (subject.starts_with("file:")) {
      result.files[subject.substr(5)] = value;
    } else if (subject == "owed") {
      if (known_handler(value)) result.owed.push_back(value);
    } else {
      std::size_t index = 0;
      if (std::from_chars(subject.data(), subject.data() + subject.size(), index).ec != std::errc{} ||
          index >= resource_count) {
        return std::unexpected(fmt::format("probe: record for unknown resource '{}'", subject));
      }
      apply_field(result.resources[index], field, value);
    }
  }
  if (!ended) return std::unexpected(std::string("probe: the script did not get to its end"));
  // Shown files came whole, without a hash from the server.
  for (auto& o : result.resources) {
    if (o.content && o.hash.empty()) o.hash = util::sha256_hex(*o.content);
  }
  return result;
}

}  // namespace berth::converge
