#include <core/manifest/toml_tree.hpp>
#include <core/manifest/toml_bounds.hpp>

#include <toml++/toml.h>

namespace berth::manifest {

namespace {

Location located(const std::string& origin, const toml::source_region& where) {
  return {origin, static_cast<int>(where.begin.line), static_cast<int>(where.begin.column)};
}

TomlValue convert(const toml::node& node, const std::string& origin) {
  TomlValue v;
  v.where = located(origin, node.source());
  if (const auto* s = node.as_string()) {
    v.type = TomlValue::Type::string;
    v.string = s->get();
  } else if (const auto* i = node.as_integer()) {
    v.type = TomlValue::Type::integer;
    v.integer = i->get();
  } else if (node.is_floating_point()) {
    v.type = TomlValue::Type::floating;
  } else if (const auto* b = node.as_boolean()) {
    v.type = TomlValue::Type::boolean;
    v.boolean = b->get();
  } else if (const auto* a = node.as_array()) {
    v.type = TomlValue::Type::array;
    for (const auto& item : *a) v.items.push_back(convert(item, origin));
  } else if (const auto* t = node.as_table()) {
    v.type = TomlValue::Type::table;
    for (const auto& [key, value] : *t) v.entries.emplace_back(std::string(key.str()), convert(value, origin));
  }
  return v;
}

}  // namespace

const TomlValue* TomlValue::find(std::string_view key) const {
  for (const auto& [k, value] : entries) {
    if (k == key) return &value;
  }
  return nullptr;
}

std::expected<TomlValue, Diagnostic> parse_toml(std::string_view text, const std::string& origin) {
  if (const auto bound = check_toml_bounds(text, origin)) {
    return std::unexpected(Diagnostic{bound->where, Severity::error, bound->message});
  }
  try {
    if (const auto stand_in = ascii_stand_in(text); stand_in != text) {
      (void)toml::parse(std::string_view(stand_in), std::string_view(origin));
    }
    const auto root = toml::parse(text, std::string_view(origin));
    auto tree = convert(root, origin);
    tree.where = {origin, 1, 1};
    return tree;
  } catch (const toml::parse_error& e) {
    return std::unexpected(Diagnostic{located(origin, e.source()), Severity::error, std::string(e.description())});
  }
}

}  // namespace berth::manifest
