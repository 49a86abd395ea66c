#include <core/layout/claims.hpp>
#include <core/util/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace berth::layout {

namespace {

// One line of the file holds one value: a control character would start another.
std::string one_line(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out.empty() ? "-" : out;
}

std::string_view word(std::string_view& rest) {
  const auto start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  const auto end = rest.find(' ');
  const auto w = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  return w;
}

int number(std::string_view text) {
  int n = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  return ec == std::errc{} && ptr == text.data() + text.size() ? n : 0;
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

std::string claim_file(std::string_view app) {
  return fmt::format("{}/{}.claim", claims_dir, app);
}
std::string origin_file(std::string_view app) {
  return fmt::format("{}/{}.origin", claims_dir, app);
}
std::string firewall_fragment(std::string_view app) {
  return fmt::format("{}/{}.nft", firewall_dir, app);
}

std::string render_claim(const Claim& c) {
  std::string out = fmt::format(
      "# Managed by berth: what app {} takes on this server. The setup of every other app\n"
      "# here reads this file (docs/operations.md, \"Several apps on one server\").\n",
      c.app);
  for (const auto& [name, value] : c.host)
    out += fmt::format("host {} {}\n", name, one_line(value));
  if (c.first_port > 0) out += fmt::format("ports {} {}\n", c.first_port, c.last_port);
  if (c.site) {
    std::string domains;
    for (const auto& d : c.domains)
      domains += " " + one_line(d);
    out += "site" + (domains.empty() ? std::string(" default") : domains) + "\n";
  }
  for (const auto& d : c.databases) {
    out += fmt::format("database {} {} {}\n", d.engine, one_line(d.name), one_line(d.user));
  }
  for (const auto& [path, hash] : c.shared)
    out += fmt::format("shared {} {}\n", hash, one_line(path));
  for (const auto& o : c.own) {
    std::string handlers;
    for (const auto& h : o.handlers)
      handlers += (handlers.empty() ? "" : ",") + h;
    out +=
        fmt::format("own {} {} {}\n", o.kind, handlers.empty() ? "-" : handlers, one_line(o.name));
  }
  for (const auto& d : c.data)
    out += fmt::format("data {}\n", one_line(d));
  return out;
}

Claim parse_claim(std::string_view app, std::string_view text) {
  Claim c;
  c.app = app;
  for (const auto raw : util::lines(text)) {
    std::string_view rest = raw;
    const auto key = word(rest);
    if (key == "host") {
      const auto name = word(rest);
      c.host.emplace_back(name, rest);
    } else if (key == "ports") {
      c.first_port = number(word(rest));
      c.last_port = number(word(rest));
    } else if (key == "site") {
      c.site = true;
      for (auto d = word(rest); !d.empty(); d = word(rest)) {
        if (d != "default") c.domains.emplace_back(d);
      }
    } else if (key == "database") {
      Claim::Database d;
      d.engine = word(rest);
      d.name = word(rest);
      d.user = word(rest);
      c.databases.push_back(std::move(d));
    } else if (key == "shared") {
      const auto hash = word(rest);
      c.shared[std::string(rest)] = hash;
    } else if (key == "own") {
      Claim::Own o;
      o.kind = word(rest);
      const auto handlers = word(rest);
      if (handlers != "-") {
        std::string_view list = handlers;
        while (!list.empty()) {
          const auto comma = list.find(',');
          o.handlers.emplace_back(list.substr(0, comma));
          list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        }
      }
      o.name = rest;
      c.own.push_back(std::move(o));
    } else if (key == "data") {
      c.data.emplace_back(rest);
    }
  }
  return c;
}

std::vector<Claim> other_claims(const std::map<std::string, std::string>& files,
                                std::string_view self) {
  std::vector<Claim> out;
  for (const auto& [name, content] : files) {
    if (!name.ends_with(".claim")) continue;
    const auto app = std::string_view(name).substr(0, name.size() - 6);
    if (app.empty() || app == self) continue;
    auto claim = parse_claim(app, content);
    if (const auto origin = files.find(std::string(app) + ".origin"); origin != files.end()) {
      claim.origin = std::string(util::trim(origin->second));
    }
    out.push_back(std::move(claim));
  }
  return out;
}

std::vector<std::string> claim_conflicts(const Claim& ours, const Claim& theirs,
                                         HostSettings host) {
  std::vector<std::string> out;
  bool host_differs = false;
  for (const auto& [name, value] : ours.host) {
    const auto it = std::find_if(theirs.host.begin(), theirs.host.end(),
                                 [&](const auto& h) { return h.first == name; });
    if (it != theirs.host.end() && it->second != value) {
      host_differs = true;
      if (host == HostSettings::compare) {
        out.push_back(fmt::format("the host setting {} is {} here, {} for {}", name, value,
                                  it->second, theirs.app));
      }
    }
  }
  if (ours.first_port > 0 && theirs.first_port > 0 && ours.first_port <= theirs.last_port &&
      theirs.first_port <= ours.last_port) {
    out.push_back(fmt::format("the instance ports {}-{} (both colors) overlap {}'s {}-{}",
                              ours.first_port, ours.last_port, theirs.app, theirs.first_port,
                              theirs.last_port));
  }
  if (ours.site && theirs.site) {
    if (ours.domains.empty() && theirs.domains.empty()) {
      out.push_back(fmt::format(
          "both this app and {} are the server's default site (a [proxy] without domains); "
          "one of them needs [proxy] domains",
          theirs.app));
    }
    std::vector<std::string> both;
    for (const auto& d : ours.domains) {
      if (std::find(theirs.domains.begin(), theirs.domains.end(), d) != theirs.domains.end())
        both.push_back(d);
    }
    if (!both.empty())
      out.push_back(fmt::format("{} also serves {}", theirs.app, quoted_list(both)));
  }
  for (const auto& d : ours.databases) {
    for (const auto& t : theirs.databases) {
      if (d.engine != t.engine) continue;
      if (d.engine == "redis") {
        out.push_back(
            fmt::format("{} has Redis here too: one Redis server serves one app (its password and "
                        "settings are one file, /etc/redis/berth.conf)",
                        theirs.app));
      } else if (d.name == t.name) {
        out.push_back(
            fmt::format("{} has a {} database named {} here too", theirs.app, d.engine, d.name));
      } else if (d.user == t.user) {
        out.push_back(
            fmt::format("{} has a {} role (user) named {} here too", theirs.app, d.engine, d.user));
      }
    }
  }
  // A shared file rendered differently, when nothing above explains it already (the
  // host settings and the one-app engines' configs are such files).
  const bool explained = !out.empty() || host_differs;
  for (const auto& [path, hash] : ours.shared) {
    if (explained) break;
    const auto it = theirs.shared.find(path);
    if (it != theirs.shared.end() && it->second != hash) {
      out.push_back(
          fmt::format("this app would write {} differently than {} does: both render it from their "
                      "manifests, which must agree on what it holds (the runtime's version, the database "
                      "servers' settings, the addresses of the servers they let in)",
                      path, theirs.app));
    }
  }
  // Their own files are theirs alone: this app writing one would take it over.
  for (const auto& o : theirs.own) {
    if (o.kind == "user" || o.kind == "group" || o.kind == "unit") continue;
    if (ours.shared.contains(o.name) ||
        std::any_of(ours.own.begin(), ours.own.end(),
                    [&](const auto& x) { return x.kind == o.kind && x.name == o.name; })) {
      out.push_back(fmt::format("{} is {}'s own, and this app writes it too", o.name, theirs.app));
    }
  }
  return out;
}

std::string refusal(std::string_view own, std::string_view app, std::string_view manifest_path,
                    const std::map<std::string, std::string>& files, HostSettings host) {
  const auto ours = parse_claim(app, own);
  const auto others = other_claims(files, app);
  std::string out;
  bool ports = false, settings = false;
  for (const auto& theirs : others) {
    const auto conflicts = claim_conflicts(ours, theirs, host);
    if (conflicts.empty()) continue;
    out += fmt::format("{}app {} ({}) cannot share this server with app {} (set up from {}):",
                       out.empty() ? "" : "\n", app, manifest_path, theirs.app,
                       theirs.origin.empty() ? "an unknown manifest" : theirs.origin);
    for (const auto& c : conflicts) {
      out += "\n  - " + c;
      ports = ports || c.starts_with("the instance ports");
      settings = settings || c.starts_with("the host setting");
    }
  }
  if (out.empty()) return out;
  if (ports) {
    const int count = ours.last_port - ours.first_port + 1;
    out += fmt::format("\n  ports {}-{} are free of every app here: set [app.run] port = {}",
                       free_ports_from(others, ours.first_port, count),
                       free_ports_from(others, ours.first_port, count) + count - 1,
                       free_ports_from(others, ours.first_port, count));
  }
  if (settings) {
    out +=
        "\n  to change a host setting for every app here: change it in every app's manifest, then "
        "run "
        "`berth setup --change-host-settings` with one of them, and `berth setup` with the others";
  }
  return out + "\nNothing was changed. Apps on one server share its host settings ([base] but "
               "open_ports, the "
               "server's user and port) and must not take one another's ports, domains, databases "
               "or files "
               "(docs/operations.md, \"Several apps on one server\").";
}

namespace {

std::string host_lines(std::string_view own) {
  std::string out;
  for (const auto line : util::lines(own)) {
    if (line.starts_with("host ")) out += (out.empty() ? "" : "\n") + std::string(line);
  }
  return out;
}

}  // namespace

std::string take_host_settings_script(std::string_view own, std::string_view own_file) {
  // Their host lines go; ours come where theirs were (after the comment lines).
  return fmt::format(
      "H={0}\nexport H\n"
      "for f in {1}/*.claim; do\n"
      "  [ -f \"$f\" ] && [ \"$f\" != {2} ] || continue\n"
      "  [ \"$(grep '^host ' \"$f\")\" = \"$H\" ] && continue\n"
      "  awk '/^host / {{ next }} !/^#/ && !done {{ print ENVIRON[\"H\"]; done = 1 }} {{ print }} "
      "END {{ if (!done) print ENVIRON[\"H\"] }}' \"$f\" > \"$f.berth-new\" && mv -f "
      "\"$f.berth-new\" \"$f\" || exit\n"
      "  echo \"${{f##*/}}: host settings replaced\"\n"
      "done",
      util::shell_quote(host_lines(own)), claims_dir, util::shell_quote(own_file));
}

std::string host_settings_taken_test(std::string_view own, std::string_view own_file) {
  return fmt::format(
      "! {{ H={0}; for f in {1}/*.claim; do [ -f \"$f\" ] && [ \"$f\" != {2} ] || continue; "
      "[ \"$(grep '^host ' \"$f\")\" = \"$H\" ] || echo differs; done | grep -q differs; }}",
      util::shell_quote(host_lines(own)), claims_dir, util::shell_quote(own_file));
}

int free_ports_from(const std::vector<Claim>& claims, int from, int count) {
  int first = from;
  for (bool moved = true; moved;) {
    moved = false;
    for (const auto& c : claims) {
      if (c.first_port > 0 && first <= c.last_port && c.first_port <= first + count - 1) {
        first = c.last_port + 1;
        moved = true;
      }
    }
  }
  return first;
}

}  // namespace berth::layout
