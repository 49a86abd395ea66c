// Vendor apt repositories and resources two components may both add.
#include <provisioners/provisioner.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace berth::provisioners {

using namespace converge;

Resource live_upstream(const manifest::Manifest& m) {
  return make(File{.path = upstream_file(m), .content = upstream_content(app_ports(m)), .overwrite = Overwrite::no},
              "app");
}

void add_once(Desired& out, Resource r) {
  const auto id = r.id();
  const bool seen = std::any_of(out.resources.begin(), out.resources.end(),
                                [&](const Resource& other) { return other.id() == id; });
  if (!seen) out.resources.push_back(std::move(r));
}

void add_apt_repository(const AptRepository& repo, const std::string& component, Desired& out) {
  add_once(out, make(Package{"curl"}, component));
  add_once(out, make(Package{"gnupg"}, component));
  auto key = make(Command{.run = fmt::format("curl -fsSL {0} -o {1}.asc && gpg --batch --yes --dearmor -o "
                                             "{1}.new {1}.asc && rm -f {1}.asc && mv -f {1}.new {1}",
                                             repo.key_url, repo.keyring),
                          .creates = repo.keyring},
                  component);
  key.stage = Stage::packages;
  add_once(out, std::move(key));
  auto sources = make(File{.path = repo.list, .content = repo.content}, component);
  sources.stage = Stage::packages;
  add_once(out, std::move(sources));
  for (const auto& name : repo.packages) {
    auto package = make(Package{name}, component);
    package.stage = Stage::accounts;
    add_once(out, std::move(package));
  }
}

}  // namespace berth::provisioners
