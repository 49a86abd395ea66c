#pragma once

// Test helpers: what a provisioner's Desired holds, looked up by resource id or file
// path, with Catch2 failing the test when it is not there.

#include <core/converge/desired.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <variant>

namespace berth::test {

inline bool has(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// The resource with id `id` ("file:/etc/x", "unit:nginx"), or null.
inline const converge::Resource* find(const converge::Desired& d, std::string_view id) {
  for (const auto& r : d.resources) {
    if (r.id() == id) return &r;
  }
  return nullptr;
}

// The spec of resource `id`, which must exist and be a T.
template <typename T> const T& spec(const converge::Desired& d, std::string_view id) {
  const auto* r = find(d, id);
  INFO(id);
  REQUIRE(r);
  const auto* s = std::get_if<T>(&r->spec);
  REQUIRE(s);
  return *s;
}

inline const converge::File& file(const converge::Desired& d, std::string_view path) {
  return spec<converge::File>(d, "file:" + std::string(path));
}

inline const std::string& content(const converge::Desired& d, std::string_view path) {
  return file(d, path).content;
}

}  // namespace berth::test
