#pragma once

// The plan: a pure, local diff of what a host should have (resources) against what
// the probe saw. No SSH here, so every rule is unit-tested.

#include <core/converge/probe.hpp>
#include <core/converge/resource.hpp>

#include <string>
#include <vector>

namespace berth::converge {

enum class Action { none, create, update };

// What will happen to one resource, and why.
struct Change {
  std::size_t index = 0;             // into the resources planned
  Action action = Action::none;
  std::vector<std::string> reasons;  // "content", "mode 0644 -> 0600", "not installed", ...
  std::string diff;                  // unified diff of file content (redacted), may be empty
};

// One change per resource, in the order of `resources`. `observed` must come from a
// probe of the same resources.
std::vector<Change> plan(const std::vector<Resource>& resources,
                         const std::vector<Observed>& observed);

// Whether any change in `changes` does something.
bool has_changes(const std::vector<Change>& changes);

}  // namespace berth::converge
