#include <core/health/condition.hpp>
#include <core/util/text.hpp>
#include <core/util/duration.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fnmatch.h>

namespace berth::health {

namespace {

using util::trim;

// What a placeholder holds, for the checks done when parsing.
enum class Type { number, duration, boolean, text, unknown };

struct Builtin {
  std::string_view name;
  Type type;
};

constexpr std::array<Builtin, 5> builtins{{{"STATUS", Type::number},
                                           {"BODY", Type::text},
                                           {"RESPONSE_TIME", Type::duration},
                                           {"CERTIFICATE_EXPIRATION", Type::duration},
                                           {"CONNECTED", Type::boolean}}};

std::optional<Type> builtin_type(std::string_view name) {
  for (const auto& b : builtins) {
    if (b.name == name) return b.type;
  }
  return std::nullopt;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_operator_char(char c) { return c == '=' || c == '!' || c == '<' || c == '>'; }


std::optional<double> to_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  const auto value = util::parse_decimal(s);
  if (!value || !std::isfinite(*value)) return std::nullopt;
  return value;
}

// A literal read as milliseconds: a plain number is milliseconds, else a duration.
std::optional<double> to_milliseconds(std::string_view s) {
  if (auto n = to_number(s)) return n;
  if (auto d = util::parse_duration(s)) return static_cast<double>(d->count());
  return std::nullopt;
}

std::optional<bool> to_bool(std::string_view s) {
  if (s == "true") return true;
  if (s == "false") return false;
  return std::nullopt;
}


struct Failure {
  std::size_t offset;
  std::string message;
};

class Parser {
 public:
  Parser(std::string_view text, std::span<const std::string> extra) : s_(text), extra_(extra) {}

  Condition parse() {
    Condition c;
    c.text = std::string(s_);
    skip_space();
    if (at_end()) fail(0, "empty condition; write one like [STATUS] == 200");
    c.left = operand(Side::left);
    skip_space();
    op_offset_ = i_;
    c.op = parse_op();
    skip_space();
    if (at_end()) fail(i_, fmt::format("missing a value after {}", to_string(c.op)));
    c.right = operand(Side::right);
    skip_space();
    if (!at_end()) fail(i_, fmt::format("unexpected '{}' after the condition", s_.substr(i_)));
    check(c);
    return c;
  }

 private:
  enum class Side { left, right };

  [[noreturn]] void fail(std::size_t offset, std::string message) const {
    throw Failure{offset, std::move(message)};
  }
  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[i_]; }
  void skip_space() {
    while (!at_end() && is_space(s_[i_])) ++i_;
  }

  Op parse_op() {
    static constexpr std::pair<std::string_view, Op> ops[] = {
        {"==", Op::eq}, {"!=", Op::ne}, {"<=", Op::le}, {">=", Op::ge}, {"<", Op::lt}, {">", Op::gt}};
    for (const auto& [text, op] : ops) {
      if (s_.substr(i_).starts_with(text)) {
        // "===", "=>", "<>"... are not operators.
        if (i_ + text.size() < s_.size() && is_operator_char(s_[i_ + text.size()])) break;
        i_ += text.size();
        return op;
      }
    }
    if (at_end()) fail(i_, "missing an operator: ==, !=, <, <=, > or >=");
    fail(i_, "expected an operator: ==, !=, <, <=, > or >=");
  }

  std::optional<Type> placeholder_type(std::string_view name) const {
    if (auto t = builtin_type(name)) return t;
    if (std::find(extra_.begin(), extra_.end(), name) != extra_.end()) return Type::unknown;
    return std::nullopt;
  }

  std::string suggestion(std::string_view name) const {
    std::string best;
    std::size_t best_distance = 4;
    auto consider = [&](std::string_view candidate) {
      std::string upper(name);
      std::transform(upper.begin(), upper.end(), upper.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
      const auto d = util::edit_distance(upper, candidate);
      if (d < best_distance && d <= std::max<std::size_t>(1, candidate.size() / 3)) {
        best_distance = d;
        best = candidate;
      }
    };
    for (const auto& b : builtins) consider(b.name);
    for (const auto& e : extra_) consider(e);
    if (!best.empty()) return fmt::format("; did you mean [{}]?", best);
    std::string known;
    for (const auto& b : builtins) known += fmt::format("{}[{}]", known.empty() ? "" : ", ", b.name);
    return "; known placeholders: " + known;
  }

  Operand placeholder() {
    Operand o;
    o.kind = Operand::Kind::placeholder;
    o.column = static_cast<int>(i_) + 1;
    const std::size_t start = i_;
    const auto close = s_.find(']', i_);
    if (close == std::string_view::npos) fail(start, "missing ']' after the placeholder's name");
    o.name = std::string(s_.substr(i_ + 1, close - i_ - 1));
    if (o.name.empty()) fail(start, "empty placeholder []");
    const auto type = placeholder_type(o.name);
    if (!type) fail(start, fmt::format("unknown placeholder [{}]{}", o.name, suggestion(o.name)));
    i_ = close + 1;
    const std::size_t path_start = i_;
    while (!at_end() && (peek() == '.' || peek() == '[')) {
      PathStep step;
      if (peek() == '.') {
        ++i_;
        const std::size_t key_start = i_;
        while (!at_end() && std::string_view(".[]()=!<>, \t\"").find(peek()) == std::string_view::npos) ++i_;
        if (i_ == key_start) fail(i_, "expected a key after '.' in the JSON path");
        step.key = std::string(s_.substr(key_start, i_ - key_start));
      } else {
        const std::size_t open = i_++;
        const std::size_t digits = i_;
        while (!at_end() && peek() >= '0' && peek() <= '9') ++i_;
        if (i_ == digits || peek() != ']') fail(open, "expected an array index like [0] in the JSON path");
        std::size_t index = 0;
        std::from_chars(s_.data() + digits, s_.data() + i_, index);
        step.index = index;
        ++i_;
      }
      o.path.push_back(std::move(step));
    }
    if (!o.path.empty() && *type != Type::text && *type != Type::unknown) {
      fail(path_start, fmt::format("[{}] is not JSON; only [BODY] takes a path like [BODY].a.b[0]", o.name));
    }
    return o;
  }

  std::string quoted() {
    const std::size_t start = i_++;
    std::string out;
    while (!at_end() && peek() != '"') {
      if (peek() == '\\' && i_ + 1 < s_.size()) ++i_;
      out += s_[i_++];
    }
    if (at_end()) fail(start, "missing closing '\"'");
    ++i_;
    return out;
  }

  // The text up to the next ')' of a function call, i_ left after the ')'.
  std::string_view until_close(std::size_t call_start, std::string_view function) {
    const auto close = s_.find(')', i_);
    if (close == std::string_view::npos) fail(call_start, fmt::format("missing ')' to close {}(", function));
    const auto inside = s_.substr(i_, close - i_);
    i_ = close + 1;
    return inside;
  }

  Operand operand(Side side) {
    const std::size_t start = i_;
    if (peek() == '[') return placeholder();
    Operand o;
    o.column = static_cast<int>(start) + 1;
    if (peek() == '"') {
      o.text = quoted();
      return o;
    }
    std::size_t j = i_;
    while (j < s_.size() && s_[j] >= 'a' && s_[j] <= 'z') ++j;
    if (j > i_ && j < s_.size() && s_[j] == '(') {
      const auto function = s_.substr(i_, j - i_);
      i_ = j + 1;
      if (function == "len" || function == "has") {
        o.kind = function == "len" ? Operand::Kind::len : Operand::Kind::has;
        skip_space();
        if (peek() != '[') fail(i_, fmt::format("{}() takes a placeholder, as in {}([BODY].items)", function, function));
        auto inner = placeholder();
        o.name = std::move(inner.name);
        o.path = std::move(inner.path);
        skip_space();
        if (peek() != ')') fail(i_, fmt::format("missing ')' to close {}(", function));
        ++i_;
        return o;
      }
      if (function == "pat") {
        o.kind = Operand::Kind::pat;
        o.text = trim(until_close(start, function));
        if (o.text.empty()) fail(start, "pat() needs a pattern, as in pat(*ok*)");
        return o;
      }
      if (function == "any") {
        o.kind = Operand::Kind::any;
        const std::size_t inside_start = i_;
        const auto inside = until_close(start, function);
        std::size_t from = 0;
        while (true) {
          const auto comma = inside.find(',', from);
          auto choice = trim(inside.substr(from, comma == std::string_view::npos ? std::string_view::npos : comma - from));
          if (choice.size() >= 2 && choice.front() == '"' && choice.back() == '"') choice = choice.substr(1, choice.size() - 2);
          if (choice.empty()) fail(inside_start + from, "empty value in any(); write any(200, 204)");
          o.choices.push_back(std::move(choice));
          if (comma == std::string_view::npos) break;
          from = comma + 1;
        }
        return o;
      }
      fail(start, fmt::format("unknown function {}(); use len, has, pat or any", function));
    }
    if (side == Side::left) {
      while (!at_end() && !is_space(peek()) && !is_operator_char(peek())) ++i_;
      o.text = std::string(s_.substr(start, i_ - start));
    } else {
      o.text = trim(s_.substr(i_));
      i_ = s_.size();
    }
    if (o.text.empty()) fail(start, "expected a placeholder like [STATUS], a function or a value");
    return o;
  }

  std::optional<Type> side_type(const Operand& o) const {
    switch (o.kind) {
      case Operand::Kind::placeholder: {
        const auto t = *placeholder_type(o.name);
        return o.path.empty() ? t : Type::unknown;
      }
      case Operand::Kind::len: return Type::number;
      case Operand::Kind::has: return Type::boolean;
      default: return std::nullopt;
    }
  }

  void check_value(Type type, const Operand& where, std::string_view value, const Operand& against) const {
    const std::size_t at = static_cast<std::size_t>(where.column - 1);
    const std::string what = against.kind == Operand::Kind::placeholder ? fmt::format("[{}]", against.name)
                             : against.kind == Operand::Kind::len      ? std::string("len()")
                                                                         : std::string("has()");
    switch (type) {
      case Type::number:
        if (!to_number(value)) fail(at, fmt::format("'{}' is not a number, and {} is a number", value, what));
        break;
      case Type::duration:
        if (!to_milliseconds(value)) {
          fail(at, fmt::format("'{}' is not a duration (300ms, 5s, 240h, 1h30m) or a number of milliseconds, "
                               "and {} is a duration", value, what));
        }
        break;
      case Type::boolean:
        if (!to_bool(value)) fail(at, fmt::format("'{}' is not true or false, and {} is true or false", value, what));
        break;
      default: break;
    }
  }

  void check(const Condition& c) const {
    using K = Operand::Kind;
    if (c.left.kind == K::any || c.left.kind == K::pat) {
      fail(c.left.column - 1, "any() and pat() go on the right of == or !=");
    }
    const bool ordering = c.op != Op::eq && c.op != Op::ne;
    if ((c.right.kind == K::any || c.right.kind == K::pat) && ordering) {
      fail(c.right.column - 1, "any() and pat() only work with == and !=");
    }
    if (c.left.kind == K::literal && c.right.kind == K::literal) {
      fail(c.left.column - 1, "nothing to check: a condition needs a placeholder, as in [STATUS] == 200");
    }
    const Operand& subject = c.left.kind == K::literal ? c.right : c.left;
    const Operand& value = c.left.kind == K::literal ? c.left : c.right;
    const auto type = side_type(subject);
    if (!type) return;
    if (ordering && *type == Type::boolean) {
      fail(op_offset_, fmt::format("{} is true or false: use == or !=", subject.kind == K::has ? "has()" : "[" + subject.name + "]"));
    }
    if (value.kind == K::literal) check_value(*type, value, value.text, subject);
    if (value.kind == K::any) {
      for (const auto& choice : value.choices) check_value(*type, value, choice, subject);
    }
  }

  std::string_view s_;
  std::span<const std::string> extra_;
  std::size_t i_ = 0;
  std::size_t op_offset_ = 0;
};

// A resolved operand.
struct Value {
  enum class Type { missing, literal, boolean, number, duration, text, json };
  Type type = Type::missing;
  bool b = false;
  double n = 0;
  std::string s;                         // text, literal, or why it is missing
  nlohmann::json j;
};

Value missing(std::string why) { return Value{Value::Type::missing, false, 0, std::move(why), {}}; }
Value number(double n) { return Value{Value::Type::number, false, n, {}, {}}; }
Value duration(std::chrono::milliseconds d) {
  return Value{Value::Type::duration, false, static_cast<double>(d.count()), {}, {}};
}
Value boolean(bool b) { return Value{Value::Type::boolean, b, 0, {}, {}}; }
Value text(std::string s) { return Value{Value::Type::text, false, 0, std::move(s), {}}; }

Value from_json(const nlohmann::json& j) {
  if (j.is_boolean()) return boolean(j.get<bool>());
  if (j.is_number()) return number(j.get<double>());
  if (j.is_string()) return text(j.get<std::string>());
  return Value{Value::Type::json, false, 0, {}, j};
}

std::string path_string(std::string_view name, const std::vector<PathStep>& path) {
  std::string out = fmt::format("[{}]", name);
  for (const auto& step : path) out += step.index ? fmt::format("[{}]", *step.index) : "." + step.key;
  return out;
}

Value walk(std::string_view name, const std::string& document, const std::vector<PathStep>& path) {
  auto j = nlohmann::json::parse(document, nullptr, false);
  if (j.is_discarded()) return missing(fmt::format("[{}] is not JSON", name));
  const nlohmann::json* at = &j;
  std::vector<PathStep> walked;
  for (const auto& step : path) {
    if (step.index) {
      if (!at->is_array() || *step.index >= at->size()) {
        return missing(fmt::format("no element {} in {}", *step.index, path_string(name, walked)));
      }
      at = &(*at)[*step.index];
    } else {
      if (!at->is_object() || !at->contains(step.key)) {
        return missing(fmt::format("no key '{}' in {}", step.key, path_string(name, walked)));
      }
      at = &(*at)[step.key];
    }
    walked.push_back(step);
  }
  return from_json(*at);
}

Value resolve_placeholder(const Operand& o, const Observation& obs) {
  const auto& name = o.name;
  if (name == "STATUS") return obs.status ? number(*obs.status) : missing("no HTTP status");
  if (name == "RESPONSE_TIME") return obs.response_time ? duration(*obs.response_time) : missing("no response time");
  if (name == "CERTIFICATE_EXPIRATION") {
    return obs.certificate_expiration ? duration(*obs.certificate_expiration) : missing("no certificate");
  }
  if (name == "CONNECTED") return obs.connected ? boolean(*obs.connected) : missing("not checked");
  if (name == "BODY") {
    if (!obs.body) return missing("no body");
    return o.path.empty() ? text(*obs.body) : walk(name, *obs.body, o.path);
  }
  const auto it = obs.values.find(name);
  if (it == obs.values.end()) return missing(fmt::format("[{}] was not observed", name));
  return std::visit(
      [&](const auto& v) -> Value {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) return boolean(v);
        else if constexpr (std::is_same_v<T, double>) return number(v);
        else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) return duration(v);
        else return o.path.empty() ? text(v) : walk(name, v, o.path);
      },
      it->second);
}

std::string number_string(double n) {
  if (std::nearbyint(n) == n && std::fabs(n) < 1e15) return fmt::format("{}", static_cast<long long>(n));
  return fmt::format("{}", n);
}

// The value as text, for == on text and for pat().
std::string plain(const Value& v) {
  switch (v.type) {
    case Value::Type::boolean: return v.b ? "true" : "false";
    case Value::Type::number:
    case Value::Type::duration: return number_string(v.n);
    case Value::Type::json: return v.j.dump();
    default: return v.s;
  }
}

Value resolve(const Operand& o, const Observation& obs) {
  switch (o.kind) {
    case Operand::Kind::placeholder: return resolve_placeholder(o, obs);
    case Operand::Kind::len: {
      auto v = resolve_placeholder(o, obs);
      if (v.type == Value::Type::missing) return v;
      if (v.type == Value::Type::json && (v.j.is_array() || v.j.is_object())) return number(static_cast<double>(v.j.size()));
      return number(static_cast<double>(plain(v).size()));
    }
    case Operand::Kind::has: return boolean(resolve_placeholder(o, obs).type != Value::Type::missing);
    default: return Value{Value::Type::literal, false, 0, o.text, {}};
  }
}

// A literal read with the type of what it is compared with.
Value coerce(const std::string& literal, const Value& other) {
  switch (other.type) {
    case Value::Type::number:
      if (auto n = to_number(literal)) return number(*n);
      break;
    case Value::Type::duration:
      if (auto ms = to_milliseconds(literal)) return number(*ms);
      break;
    case Value::Type::boolean:
      if (auto b = to_bool(literal)) return boolean(*b);
      break;
    default: break;
  }
  return text(literal);
}

std::optional<double> numeric(const Value& v) {
  if (v.type == Value::Type::number || v.type == Value::Type::duration) return v.n;
  if (v.type == Value::Type::text) return to_number(v.s);
  return std::nullopt;
}

bool compare(const Value& l, Op op, const Value& r) {
  const bool ordering = op != Op::eq && op != Op::ne;
  const auto ln = numeric(l);
  const auto rn = numeric(r);
  const bool both_numeric = ln && rn &&
      (l.type != Value::Type::text || r.type != Value::Type::text || ordering);
  if (both_numeric) {
    switch (op) {
      case Op::eq: return *ln == *rn;
      case Op::ne: return *ln != *rn;
      case Op::lt: return *ln < *rn;
      case Op::le: return *ln <= *rn;
      case Op::gt: return *ln > *rn;
      case Op::ge: return *ln >= *rn;
    }
  }
  if (ordering) return false;
  const bool equal = l.type == Value::Type::json && r.type == Value::Type::json ? l.j == r.j : plain(l) == plain(r);
  return op == Op::eq ? equal : !equal;
}

std::string display(const Value& v) {
  switch (v.type) {
    case Value::Type::missing: return fmt::format("(missing: {})", v.s);
    case Value::Type::duration:
      return util::format_duration(std::chrono::milliseconds{static_cast<long long>(v.n)});
    default: break;
  }
  std::string s = plain(v);
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  constexpr std::size_t max = 120;
  if (s.size() > max) s = s.substr(0, max) + "...";
  if (v.type == Value::Type::text && s.empty()) return "\"\"";
  return s;
}

}  // namespace

std::string_view to_string(Op op) {
  switch (op) {
    case Op::eq: return "==";
    case Op::ne: return "!=";
    case Op::lt: return "<";
    case Op::le: return "<=";
    case Op::gt: return ">";
    case Op::ge: return ">=";
  }
  return "?";
}

std::expected<Condition, ConditionError> parse_condition(std::string_view text,
                                                         std::span<const std::string> extra_placeholders) {
  try {
    return Parser(text, extra_placeholders).parse();
  } catch (const Failure& f) {
    return std::unexpected(ConditionError{static_cast<int>(f.offset) + 1, f.message});
  }
}

std::optional<std::pair<int, std::string>> condition_error(std::string_view text) {
  auto parsed = parse_condition(text);
  if (parsed) return std::nullopt;
  return std::pair{parsed.error().column, parsed.error().message};
}

Evaluation evaluate(const Condition& condition, const Observation& observation) {
  using K = Operand::Kind;
  const Value left = resolve(condition.left, observation);
  const Operand& r = condition.right;
  Evaluation e;
  e.observed = display(condition.left.kind == K::literal ? resolve(r, observation) : left);

  if (r.kind == K::any || r.kind == K::pat) {
    if (left.type == Value::Type::missing) return e;
    bool match = false;
    if (r.kind == K::pat) {
      match = fnmatch(r.text.c_str(), plain(left).c_str(), 0) == 0;
    } else {
      match = std::any_of(r.choices.begin(), r.choices.end(),
                          [&](const std::string& c) { return compare(left, Op::eq, coerce(c, left)); });
    }
    e.ok = condition.op == Op::eq ? match : !match;
    return e;
  }
  Value right = resolve(r, observation);
  if (left.type == Value::Type::missing || right.type == Value::Type::missing) return e;
  if (left.type == Value::Type::literal) {
    e.ok = compare(coerce(left.s, right), condition.op, right);
  } else if (right.type == Value::Type::literal) {
    e.ok = compare(left, condition.op, coerce(right.s, left));
  } else {
    e.ok = compare(left, condition.op, right);
  }
  return e;
}

}  // namespace berth::health
