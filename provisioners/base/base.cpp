// base: what every managed host gets before any component. The hardening of issue 6
// (deploy user, sshd, firewall, fail2ban, unattended upgrades, swap) lands here.
#include <provisioners/provisioner.hpp>

namespace berth::provisioners {

using namespace converge;

void add_base(const manifest::Manifest& m, const manifest::Server&, Desired& out) {
  // curl: deploys check new instances directly on the server before switching.
  for (const char* p : {"ca-certificates", "tzdata", "curl"}) {
    out.resources.push_back(make(Package{p}, "base"));
  }
  out.resources.push_back(make(Directory{.path = "/etc/berth", .mode = "0755"}, "base"));
  out.resources.push_back(make(Directory{.path = config_dir(m), .mode = "0750"}, "base"));
  out.resources.push_back(make(Directory{.path = config_dir(m) + "/secrets", .mode = "0700"}, "base"));
}

}  // namespace berth::provisioners
