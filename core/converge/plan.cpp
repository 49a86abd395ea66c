#include <core/converge/plan.hpp>
#include <core/util/diff.hpp>
#include <core/util/hash.hpp>
#include <core/util/overloaded.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace berth::converge {

namespace {

void compare(std::vector<std::string>& reasons, std::string_view what, const std::string& have,
             const std::string& want) {
  if (have != want) reasons.push_back(fmt::format("{} {} -> {}", what, have, want));
}

void check_type(std::vector<std::string>& reasons, const Observed& o, std::string_view want) {
  if (o.type != want) reasons.push_back(fmt::format("is a {}, should be a {}", o.type, want));
}

Change diff_one(const Resource& resource, const Observed& o) {
  Change change;
  auto& reasons = change.reasons;
  std::visit(
      util::Overloaded{
          [&](const Package&) {
            if (!o.exists) reasons.emplace_back("not installed");
          },
          [&](const File& f) {
            if (!o.exists) return;
            check_type(reasons, o, "file");
            if (f.overwrite == Overwrite::no) return;
            if (o.hash != util::sha256_hex(f.content)) {
              reasons.emplace_back("content");
              if (f.sensitive == Sensitive::no && o.content) {
                change.diff = util::unified_diff(*o.content, f.content, f.path + " (server)",
                                                 f.path + " (berth)");
              }
            }
            compare(reasons, "owner", o.owner, f.owner);
            compare(reasons, "group", o.group, f.group);
            compare(reasons, "mode", o.mode, f.mode);
            if (o.unvalidated) reasons.emplace_back("not validated (a run was cut off)");
          },
          [&](const Directory& d) {
            if (!o.exists) return;
            check_type(reasons, o, "directory");
            compare(reasons, "owner", o.owner, d.owner);
            compare(reasons, "group", o.group, d.group);
            compare(reasons, "mode", o.mode, d.mode);
          },
          [&](const Symlink& s) {
            if (!o.exists) return;
            check_type(reasons, o, "symlink");
            compare(reasons, "target", o.target, s.target);
          },
          [&](const Group&) {},
          [&](const User& u) {
            if (!o.exists) return;
            compare(reasons, "shell", o.shell, u.shell);
            if (!u.home.empty()) compare(reasons, "home", o.home, u.home);
            for (const auto& g : u.groups) {
              if (std::find(o.groups.begin(), o.groups.end(), g) == o.groups.end()) {
                reasons.push_back("not in group " + g);
              }
            }
          },
          [&](const Unit& u) {
            if (!o.exists) {
              reasons.emplace_back("unit not found");
              return;
            }
            if (u.enabled != o.enabled) reasons.emplace_back(u.enabled ? "not enabled" : "enabled");
            if (u.active != o.active) {
              reasons.push_back(u.active ? fmt::format("not running ({})", o.active_state)
                                         : std::string("running"));
            }
          },
          [&](const Command&) {
            if (!o.guard_satisfied) reasons.emplace_back("guard not met");
          },
      },
      resource.spec);

  // Units report "unit not found" rather than create: their files come from File
  // resources, the Unit only enables and starts.
  const bool missing = !o.exists && !std::holds_alternative<Unit>(resource.spec) &&
                       !std::holds_alternative<Command>(resource.spec);
  if (missing) {
    change.action = Action::create;
    if (const auto* f = std::get_if<File>(&resource.spec); f && f->sensitive == Sensitive::no) {
      change.diff = util::unified_diff("", f->content, "/dev/null", f->path + " (berth)");
    }
  } else if (!reasons.empty()) {
    change.action = std::holds_alternative<Command>(resource.spec) ? Action::create : Action::update;
  }
  return change;
}

}  // namespace

std::vector<Change> plan(const std::vector<Resource>& resources,
                         const std::vector<Observed>& observed) {
  std::vector<Change> changes;
  changes.reserve(resources.size());
  bool installs = false;
  for (std::size_t i = 0; i < resources.size(); ++i) {
    auto change = diff_one(resources[i], i < observed.size() ? observed[i] : Observed{});
    change.index = i;
    installs = installs || (change.action != Action::none &&
                            std::holds_alternative<Package>(resources[i].spec));
    changes.push_back(std::move(change));
  }
  // A command's guard was probed before anything changed. Installing packages changes
  // the system in ways the plan cannot see (files, users, services appear), so then
  // the apply checks every later command's guard again.
  for (auto& change : changes) {
    const auto& r = resources[change.index];
    if (installs && change.action == Action::none && std::holds_alternative<Command>(r.spec) &&
        r.stage != Stage::packages) {
      change.action = Action::update;
      change.reasons.emplace_back("guard checked again after earlier changes");
    }
  }
  return changes;
}

bool has_changes(const std::vector<Change>& changes) {
  return std::any_of(changes.begin(), changes.end(),
                     [](const Change& c) { return c.action != Action::none; });
}

}  // namespace berth::converge
