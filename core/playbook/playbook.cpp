#include <core/error.hpp>
#include <core/manifest/toml_tree.hpp>
#include <core/playbook/playbook.hpp>
#include <core/util/embedded.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace berth::playbook {

const std::vector<std::string>& known_components() {
  static const std::vector<std::string> components{"base", "databases", "app", "proxy", "jobs"};
  return components;
}

namespace {

constexpr std::pair<ReleaseAction, std::string_view> action_table[] = {
    {ReleaseAction::build, "build"},   {ReleaseAction::ship, "ship"},
    {ReleaseAction::migrate, "migrate"}, {ReleaseAction::choose, "choose"},
    {ReleaseAction::current, "current"},
    {ReleaseAction::start, "start"},   {ReleaseAction::switch_over, "switch"},
    {ReleaseAction::finalize, "finalize"}};

constexpr std::pair<HookKind, std::string_view> hook_table[] = {
    {HookKind::pre_build, "pre_build"}, {HookKind::pre_deploy, "pre_deploy"}, {HookKind::post_deploy, "post_deploy"}};

template <class Enum, std::size_t N>
std::string_view name_in(const std::pair<Enum, std::string_view> (&table)[N], Enum value) {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return "?";
}

template <class Enum, std::size_t N>
std::vector<std::string> names_of(const std::pair<Enum, std::string_view> (&table)[N]) {
  std::vector<std::string> out;
  for (const auto& [e, name] : table) out.emplace_back(name);
  return out;
}

}  // namespace

std::string_view action_name(ReleaseAction action) { return name_in(action_table, action); }
std::string_view hook_name(HookKind kind) { return name_in(hook_table, kind); }

const std::vector<std::string>& release_actions() {
  static const auto names = names_of(action_table);
  return names;
}

const std::vector<std::string>& hook_kinds() {
  static const auto names = names_of(hook_table);
  return names;
}

bool Playbook::is_release() const {
  return std::any_of(steps.begin(), steps.end(), [](const Step& s) {
    return s.kind == StepKind::release || s.kind == StepKind::hooks;
  });
}

namespace {

using manifest::TomlValue;
using Type = manifest::TomlValue::Type;

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string joined(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& item : list) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// The order a release's steps must keep, so that no playbook can switch to
// instances that were never started or leave new ones running beside the old.
void check_release_order(const Playbook& book, std::vector<std::string>& errors) {
  if (!book.is_release()) return;
  std::set<std::string> seen;
  auto error = [&](const Step& step, std::string message) {
    errors.push_back(fmt::format("{}:{}: error: {}", book.origin, step.line, message));
  };
  // Each action and the actions one of which must come before it.
  const std::vector<std::pair<std::string, std::vector<std::string>>> needs{
      {"ship", {"build"}},   {"migrate", {"ship"}},  {"start", {"ship", "choose", "current"}},
      {"switch", {"start"}}, {"finalize", {"start"}}};
  for (const auto& step : book.steps) {
    if (step.kind == StepKind::converge) {
      error(step, "a converge step cannot run among release steps (converge in `berth setup` "
                  "or a playbook of its own)");
    }
    if (step.kind != StepKind::release) continue;
    const auto& a = step.action;
    if (seen.contains(a)) error(step, fmt::format("release step '{}' appears twice", a));
    for (const auto& [action, before] : needs) {
      if (a == action && std::none_of(before.begin(), before.end(),
                                      [&](const std::string& b) { return seen.contains(b); })) {
        error(step, fmt::format("release step '{}' needs {} before it", a,
                                before.size() == 1 ? "'" + before[0] + "'" : "'ship', 'choose' or 'current'"));
      }
    }
    const auto picked = [&](std::string_view other) { return a != other && seen.contains(std::string(other)); };
    if ((a == "build" || a == "choose" || a == "current") && (picked("build") || picked("choose") || picked("current"))) {
      error(step, "a release is built ('build'), chosen ('choose') or the live one ('current'): one of them");
    }
    if (a == "switch" && seen.contains("finalize")) error(step, "'switch' must come before 'finalize'");
    seen.insert(a);
  }
  if (seen.contains("start") && !seen.contains("finalize")) {
    errors.push_back(fmt::format("{}: error: release step 'start' needs a 'finalize' after it (or the "
                                 "new instances would serve beside the old ones)",
                                 book.origin));
  }
}

}  // namespace

Playbook parse_playbook(std::string_view text, std::string name, std::string origin) {
  const auto parsed = manifest::parse_toml(text, origin);
  if (!parsed) throw Error(parsed.error().to_string());
  const auto& root = *parsed;
  Playbook book{std::move(name), origin, {}, {}};
  std::vector<std::string> errors;
  auto error = [&](const manifest::Location& where, std::string message) {
    errors.push_back(manifest::Diagnostic{where, manifest::Severity::error, std::move(message)}.to_string());
  };

  for (const auto& [key, value] : root.entries) {
    if (key == "description" && value.type == Type::string) {
      book.description = value.string;
    } else if (key != "steps") {
      error(value.where, fmt::format("unknown key '{}' (a playbook has description and [[steps]])", key));
    }
  }
  const auto* steps = root.find("steps");
  if (!steps || steps->type != Type::array || steps->items.empty()) {
    error(steps ? steps->where : root.where, "a playbook needs at least one [[steps]]");
  }
  if (steps && steps->type == Type::array) {
    for (const auto& node : steps->items) {
      if (node.type != Type::table) {
        error(node.where, "each step is a table ([[steps]])");
        continue;
      }
      Step step;
      step.line = node.where.line;
      int kinds = 0;
      for (const auto& [k, value] : node.entries) {
        auto string_of = [&](std::string& into) {
          if (value.type == Type::string) {
            into = value.string;
          } else {
            error(value.where, fmt::format("'{}' must be a string", k));
          }
        };
        if (k == "name") {
          string_of(step.name);
        } else if (k == "converge") {
          ++kinds;
          step.kind = StepKind::converge;
          if (value.type != Type::array) {
            error(value.where, "'converge' must be a list of components");
            continue;
          }
          for (const auto& c : value.items) {
            const auto& known = known_components();
            if (c.type != Type::string || std::find(known.begin(), known.end(), c.string) == known.end()) {
              error(c.where, "unknown component (base, databases, app, proxy, jobs)");
            } else {
              step.components.push_back(c.string);
            }
          }
        } else if (k == "remote" || k == "local") {
          ++kinds;
          step.kind = k == "remote" ? StepKind::remote : StepKind::local;
          string_of(step.command);
        } else if (k == "release" || k == "hooks") {
          ++kinds;
          step.kind = k == "release" ? StepKind::release : StepKind::hooks;
          string_of(step.action);
          const auto& allowed = k == "release" ? release_actions() : hook_kinds();
          if (value.type == Type::string && !contains(allowed, step.action)) {
            error(value.where, fmt::format("unknown {} '{}' ({})", k == "release" ? "release step" : "hook kind",
                                           step.action, joined(allowed)));
          }
          for (const auto& [e, n] : action_table) {
            if (k == "release" && n == step.action) step.release = e;
          }
          for (const auto& [e, n] : hook_table) {
            if (k == "hooks" && n == step.action) step.hook = e;
          }
        } else if (k == "health") {
          ++kinds;
          step.kind = StepKind::health;
          if (value.type != Type::boolean || !value.boolean) error(value.where, "'health' must be true");
        } else if (k == "role") {
          string_of(step.role);
        } else if (k == "deadline") {
          string_of(step.deadline);
        } else {
          error(value.where, fmt::format("unknown key '{}' in a step (name, converge, remote, "
                                         "local, health, release, hooks, role, deadline)",
                                         k));
        }
      }
      if (kinds != 1) {
        error(node.where, "a step has exactly one of converge, remote, local, health, release, hooks");
      }
      if (step.name.empty()) {
        step.name = !step.action.empty()               ? step.action
                    : step.kind == StepKind::health ? std::string("health")
                                                    : fmt::format("step {}", book.steps.size() + 1);
      }
      book.steps.push_back(std::move(step));
    }
  }
  if (errors.empty()) check_release_order(book, errors);
  if (!errors.empty()) {
    std::string message = fmt::format("playbook '{}' is invalid:", book.name);
    for (const auto& e : errors) message += "\n  " + e;
    throw Error(message);
  }
  return book;
}

Playbook load_playbook(const std::filesystem::path& project_dir, const std::string& name) {
  const auto own = project_dir / "playbooks" / (name + ".toml");
  if (std::filesystem::is_regular_file(own)) {
    std::ifstream in(own, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return parse_playbook(text.str(), name, own.string());
  }
  const auto built_in = "playbooks/" + name + ".toml";
  if (const auto text = find_embedded(built_in)) {
    return parse_playbook(*text, name, "built-in " + built_in);
  }
  std::string names;
  for (const auto& n : available_playbooks(project_dir)) names += (names.empty() ? "" : ", ") + n;
  throw Error(fmt::format("no playbook named '{}' (in {} or built in)", name,
                          (project_dir / "playbooks").string()),
              ExitCode::usage, "playbooks you can run: " + names);
}

std::vector<std::string> available_playbooks(const std::filesystem::path& project_dir) {
  std::set<std::string> names;
  for (const auto& f : embedded_files()) {
    if (f.path.starts_with("playbooks/") && f.path.ends_with(".toml")) {
      names.insert(std::string(f.path.substr(10, f.path.size() - 15)));
    }
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(project_dir / "playbooks", ec)) {
    if (entry.path().extension() == ".toml") names.insert(entry.path().stem().string());
  }
  return {names.begin(), names.end()};
}

}  // namespace berth::playbook
