#include <core/util/text.hpp>
#include <core/manifest/structure.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace berth::manifest {

Location location_of(const toml::source_region& region, const std::string& file) {
  Location where;
  where.file = region.path ? *region.path : file;
  where.line = static_cast<int>(region.begin.line);
  where.column = static_cast<int>(region.begin.column);
  return where;
}

namespace {


std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

std::string type_name(const Schema& s) {
  switch (s.type) {
    case Schema::Type::string: return "a string";
    case Schema::Type::integer: return "an integer";
    case Schema::Type::boolean: return "a boolean (true or false)";
    case Schema::Type::array: return "an array";
    case Schema::Type::table: return "a table";
    case Schema::Type::any_of: break;
  }
  std::vector<std::string> names;
  for (const auto& a : s.alternatives) names.push_back(type_name(a));
  return fmt::format("{}", fmt::join(names, " or "));
}

bool fits_type(const toml::node& node, const Schema& s) {
  switch (s.type) {
    case Schema::Type::string: return node.is_string();
    case Schema::Type::integer: return node.is_integer();
    case Schema::Type::boolean: return node.is_boolean();
    case Schema::Type::array: return node.is_array();
    case Schema::Type::table: return node.is_table();
    case Schema::Type::any_of:
      return std::any_of(s.alternatives.begin(), s.alternatives.end(),
                         [&](const Schema& a) { return fits_type(node, a); });
  }
  return false;
}

// Names a place in the document for messages: "[servers.web]", "[jobs #2]".
std::string display(const std::vector<std::string>& path) {
  if (path.empty()) return "the top level";
  std::string out;
  for (const auto& segment : path) {
    if (segment.starts_with('#')) {
      out += " " + segment;
    } else {
      out += (out.empty() ? "" : ".") + segment;
    }
  }
  return "[" + out + "]";
}

std::string lowercase_first(std::string text) {
  if (!text.empty()) text.front() = static_cast<char>(std::tolower(static_cast<unsigned char>(text.front())));
  return text;
}

class Checker {
 public:
  Checker(const std::string& file, std::vector<Diagnostic>& out) : file_(file), out_(out) {}

  // `key` is the name the node has in its parent (for messages), `path` the parent's.
  void node(const toml::node& n, const Schema& s, std::string_view key,
            std::vector<std::string>& path, const toml::source_region& fallback) {
    if (!fits_type(n, s)) {
      error(n.source(), fallback,
            fmt::format("'{}' in {} must be {}, not {}", key, display(path), type_name(s),
                        type_name(n)));
      return;
    }
    switch (s.type) {
      case Schema::Type::string: string(*n.as_string(), s, key, path); break;
      case Schema::Type::integer: integer(*n.as_integer(), s, key, path); break;
      case Schema::Type::boolean: break;
      case Schema::Type::array: array(*n.as_array(), s, key, path); break;
      case Schema::Type::table:
        path.emplace_back(key);
        table(*n.as_table(), s, path, fallback);
        path.pop_back();
        break;
      case Schema::Type::any_of:
        for (const auto& a : s.alternatives) {
          if (fits_type(n, a)) {
            node(n, a, key, path, fallback);
            break;
          }
        }
        break;
    }
  }

  void table(const toml::table& t, const Schema& s, std::vector<std::string>& path,
             const toml::source_region& fallback) {
    for (auto&& [k, v] : t) {
      const auto name = std::string(k.str());
      if (s.is_map()) {
        node(v, s.element.front(), name, path, k.source());
        continue;
      }
      if (const auto* p = s.property(name)) {
        node(v, *p, name, path, k.source());
        continue;
      }
      std::vector<std::string> known;
      for (const auto& p : s.properties) known.push_back(p.name);
      auto message = fmt::format("unknown key '{}' in {}", name, display(path));
      if (auto guess = closest_match(name, known)) {
        message += fmt::format("; did you mean '{}'?", *guess);
      } else {
        message += fmt::format(" (known keys: {})", fmt::join(known, ", "));
      }
      error(k.source(), fallback, message);
    }
    for (const auto& p : s.properties) {
      if (p.required && !t.contains(p.name)) {
        error(t.source(), fallback,
              fmt::format("missing required key '{}' in {}: {}", p.name, display(path),
                          lowercase_first(p.description)));
      }
    }
  }

 private:
  void string(const toml::value<std::string>& v, const Schema& s, std::string_view key,
              const std::vector<std::string>& path) {
    if (s.allowed.empty() ||
        std::find(s.allowed.begin(), s.allowed.end(), v.get()) != s.allowed.end()) {
      return;
    }
    auto message = fmt::format("'{}' in {} must be one of {}, not '{}'", key, display(path),
                               fmt::join(s.allowed, ", "), v.get());
    if (auto guess = closest_match(v.get(), s.allowed)) {
      message += fmt::format("; did you mean '{}'?", *guess);
    }
    error(v.source(), {}, message);
  }

  void integer(const toml::value<std::int64_t>& v, const Schema& s, std::string_view key,
               const std::vector<std::string>& path) {
    const auto value = v.get();
    if ((s.minimum && value < *s.minimum) || (s.maximum && value > *s.maximum)) {
      error(v.source(), {},
            fmt::format("'{}' in {} is {}, out of range ({}..{})", key, display(path), value,
                        s.minimum ? fmt::to_string(*s.minimum) : "",
                        s.maximum ? fmt::to_string(*s.maximum) : ""));
    }
  }

  void array(const toml::array& a, const Schema& s, std::string_view key,
             std::vector<std::string>& path) {
    const auto& item = s.element.front();
    for (std::size_t i = 0; i < a.size(); ++i) {
      // Tables of an array are named "[jobs #2]"; plain values "'roles' item 2".
      if (item.type == Schema::Type::table) {
        path.emplace_back(key);
        node(a[i], item, fmt::format("#{}", i + 1), path, a.source());
        path.pop_back();
      } else {
        node(a[i], item, fmt::format("{} item {}", key, i + 1), path, a.source());
      }
    }
  }

  void error(const toml::source_region& where, const toml::source_region& fallback,
             std::string message) {
    Diagnostic d;
    d.where = location_of(where.begin.line != 0 ? where : fallback, file_);
    d.message = std::move(message);
    out_.push_back(std::move(d));
  }

  const std::string& file_;
  std::vector<Diagnostic>& out_;
};

}  // namespace

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const auto d = util::edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

void check_structure(const toml::table& root, const Schema& schema, const std::string& file,
                     std::vector<Diagnostic>& out) {
  Checker checker(file, out);
  std::vector<std::string> path;
  checker.table(root, schema, path, root.source());
}

}  // namespace berth::manifest
