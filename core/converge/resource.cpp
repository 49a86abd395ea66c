#include <core/converge/resource.hpp>
#include <core/util/overloaded.hpp>

namespace berth::converge {

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::packages: return "packages";
    case Stage::accounts: return "accounts";
    case Stage::layout: return "layout";
    case Stage::config: return "config";
    case Stage::services: return "services";
    case Stage::data: return "data";
  }
  return "?";
}

std::string Resource::kind() const {
  return std::visit(util::Overloaded{
                        [](const Package&) { return "package"; },
                        [](const File&) { return "file"; },
                        [](const Directory&) { return "directory"; },
                        [](const Symlink&) { return "symlink"; },
                        [](const Group&) { return "group"; },
                        [](const User&) { return "user"; },
                        [](const Unit&) { return "unit"; },
                        [](const Command&) { return "command"; },
                    },
                    spec);
}

std::string Resource::id() const {
  const auto key = std::visit(util::Overloaded{
                                  [](const Package& p) { return p.name; },
                                  [](const File& f) { return f.path; },
                                  [](const Directory& d) { return d.path; },
                                  [](const Symlink& s) { return s.path; },
                                  [](const Group& g) { return g.name; },
                                  [](const User& u) { return u.name; },
                                  [](const Unit& u) { return u.name; },
                                  [](const Command& c) {
                                    if (!c.name.empty()) return c.name;
                                    return c.creates.empty() ? c.unless : c.creates;
                                  },
                              },
                              spec);
  return kind() + ":" + key;
}

Stage default_stage(const Spec& spec) {
  return std::visit(util::Overloaded{
                        [](const Package&) { return Stage::packages; },
                        [](const File&) { return Stage::config; },
                        [](const Directory&) { return Stage::layout; },
                        [](const Symlink&) { return Stage::layout; },
                        [](const Group&) { return Stage::accounts; },
                        [](const User&) { return Stage::accounts; },
                        [](const Unit&) { return Stage::services; },
                        [](const Command&) { return Stage::data; },
                    },
                    spec);
}

Resource make(Spec spec, std::string component, std::vector<std::string> notify) {
  const auto stage = default_stage(spec);
  return Resource{std::move(spec), stage, std::move(component), std::move(notify)};
}

}  // namespace berth::converge
