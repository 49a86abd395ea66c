#include <core/util/semver.hpp>
#include <core/util/text.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <vector>

namespace berth::util {
namespace {

using Version = std::array<long, 3>;

// A version as a range writes it: its first `parts` numbers given, the others
// wildcards or left out (`20`, `20.x` and `20.*` have one).
struct Partial {
  Version v{0, 0, 0};
  int parts = 0;
};

enum class Op { lt, le, gt, ge };

struct Comparator {
  Op op;
  Version v;
};

// Comparators that must all hold; none: any version.
using Set = std::vector<Comparator>;

// What matches no version: nothing is below 0.0.0.
const Comparator nothing{Op::lt, {0, 0, 0}};

bool is_wildcard(std::string_view s) { return s == "x" || s == "X" || s == "*"; }

std::optional<long> number(std::string_view s) {
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  long n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

// "20", "20.x", "20.11.1", "v20.11", "*": nullopt for anything else (a prerelease or
// build tag, a word, more than three parts, a number after a wildcard).
std::optional<Partial> parse_partial(std::string_view s) {
  if (s.starts_with('v') || s.starts_with('V')) s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  Partial p;
  bool wild = false;
  std::size_t count = 0;
  std::size_t pos = 0;
  while (true) {
    const auto dot = s.find('.', pos);
    const auto piece = s.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (++count > 3) return std::nullopt;
    if (is_wildcard(piece)) {
      wild = true;
    } else {
      const auto n = number(piece);
      if (!n || wild) return std::nullopt;
      p.v[p.parts++] = *n;
    }
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return p;
}

// The first version above every version `p` stands for (p has 1 or 2 parts).
Version above(const Partial& p) {
  if (p.parts == 1) return {p.v[0] + 1, 0, 0};
  return {p.v[0], p.v[1] + 1, 0};
}

// `op p` with op one of "", "=", ">=", ">", "<=", "<" (node-semver's desugaring of
// partial versions: >1 is >=2.0.0, <=1.2 is <1.3.0, 1.2 is >=1.2.0 <1.3.0).
void add_primitive(std::string_view op, const Partial& p, Set& out) {
  const bool equal = op.empty() || op == "=";
  if (p.parts == 3) {
    if (equal) {
      out.push_back({Op::ge, p.v});
      out.push_back({Op::le, p.v});
    } else {
      out.push_back({op == ">=" ? Op::ge : op == ">" ? Op::gt : op == "<=" ? Op::le : Op::lt, p.v});
    }
    return;
  }
  if (p.parts == 0) {
    if (op == ">" || op == "<") out.push_back(nothing);
    return;
  }
  if (equal || op == ">=") out.push_back({Op::ge, p.v});
  if (equal || op == "<=") out.push_back({Op::lt, above(p)});
  if (op == ">") out.push_back({Op::ge, above(p)});
  if (op == "<") out.push_back({Op::lt, p.v});
}

// ~1.2.3 is >=1.2.3 <1.3.0; ~1 is >=1.0.0 <2.0.0.
void add_tilde(const Partial& p, Set& out) {
  if (p.parts == 0) return;
  out.push_back({Op::ge, p.v});
  out.push_back({Op::lt, p.parts == 1 ? Version{p.v[0] + 1, 0, 0} : Version{p.v[0], p.v[1] + 1, 0}});
}

// ^1.2.3 is >=1.2.3 <2.0.0; below 1.0.0 the first non-zero part given may not change:
// ^0.2.3 is <0.3.0, ^0.0.3 is <0.0.4, ^0.0 is <0.1.0, ^0 is <1.0.0.
void add_caret(const Partial& p, Set& out) {
  if (p.parts == 0) return;
  Version upper;
  if (p.v[0] > 0 || p.parts == 1) {
    upper = {p.v[0] + 1, 0, 0};
  } else if (p.parts == 2 || p.v[1] > 0) {
    upper = {0, p.v[1] + 1, 0};
  } else {
    upper = {0, 0, p.v[2] + 1};
  }
  out.push_back({Op::ge, p.v});
  out.push_back({Op::lt, upper});
}

// A - B: >=A, and <=B when B is whole, else below what B stands for.
void add_hyphen(const Partial& a, const Partial& b, Set& out) {
  if (a.parts > 0) out.push_back({Op::ge, a.v});
  if (b.parts == 3) out.push_back({Op::le, b.v});
  if (b.parts == 1 || b.parts == 2) out.push_back({Op::lt, above(b)});
}

// The operators, each before those it starts with.
constexpr std::array<std::string_view, 8> operators{"~>", "~", "^", ">=", "<=", ">", "<", "="};

bool is_operator(std::string_view word) {
  return std::find(operators.begin(), operators.end(), word) != operators.end();
}

// One comparator: an operator (or none) and a partial version.
bool add_comparator(std::string_view token, Set& out) {
  std::string_view op;
  for (auto candidate : operators) {
    if (token.starts_with(candidate)) {
      op = candidate;
      break;
    }
  }
  const auto p = parse_partial(token.substr(op.size()));
  if (!p) return false;
  if (op == "~" || op == "~>") {
    add_tilde(*p, out);
  } else if (op == "^") {
    add_caret(*p, out);
  } else {
    add_primitive(op, *p, out);
  }
  return true;
}

// One alternative of a range (between `||`): a hyphen range, or comparators joined by
// spaces (an operator may stand apart from its version: ">= 20").
std::optional<Set> parse_set(std::string_view text) {
  const auto words = fields(text);
  Set out;
  if (words.size() == 3 && words[1] == "-") {
    const auto a = parse_partial(words[0]);
    const auto b = parse_partial(words[2]);
    if (!a || !b) return std::nullopt;
    add_hyphen(*a, *b, out);
    return out;
  }
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string token(words[i]);
    if (is_operator(words[i]) && i + 1 < words.size()) token += words[++i];
    if (!add_comparator(token, out)) return std::nullopt;
  }
  return out;
}

bool holds(const Comparator& c, const Version& v) {
  switch (c.op) {
    case Op::lt: return v < c.v;
    case Op::le: return v <= c.v;
    case Op::gt: return v > c.v;
    case Op::ge: return v >= c.v;
  }
  return false;
}

}  // namespace

std::optional<bool> satisfies_range(std::string_view version, std::string_view range) {
  const auto v = parse_partial(trim(version));
  if (!v || v->parts != 3) return std::nullopt;
  std::vector<Set> alternatives;
  std::size_t pos = 0;
  while (true) {
    const auto bar = range.find("||", pos);
    const auto set = parse_set(range.substr(pos, bar == std::string_view::npos ? std::string_view::npos : bar - pos));
    if (!set) return std::nullopt;
    alternatives.push_back(*set);
    if (bar == std::string_view::npos) break;
    pos = bar + 2;
  }
  return std::any_of(alternatives.begin(), alternatives.end(), [&](const Set& set) {
    return std::all_of(set.begin(), set.end(), [&](const Comparator& c) { return holds(c, v->v); });
  });
}

}  // namespace berth::util
