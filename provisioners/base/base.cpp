// base: what every managed host gets before any component: a deploy user with sudo,
// hardened sshd, fail2ban, unattended security upgrades, time zone, swap, journald
// limits. The firewall (firewall.cpp) is added by desired_state once every component
// has said which ports it opens. docs/hardening.md explains each choice.
#include <core/render.hpp>
#include <core/util/text.hpp>
#include <provisioners/base/base.hpp>

#include <fmt/format.h>

#include <charconv>

namespace berth::provisioners {

using namespace converge;
using util::shell_quote;

namespace {

constexpr const char* component = "base";

// Where berth's skipped swap says why (a container cannot swapon).
constexpr const char* swap_skipped = "/var/lib/berth/swap-skipped";

kainjow::mustache::data one(const std::string& key, const std::string& value) {
  kainjow::mustache::data d;
  d.set(key, value);
  return d;
}

// A check that the authorized_keys file {} still holds the key this very run logged
// in as `user` with: berth's session is found by SSH_CONNECTION up its process tree,
// the key by sshd's "Accepted publickey" line for that address and port (logged by
// `sshd` on Debian 12, by `sshd-session` on Debian 13). When either
// cannot be found, it passes: the check only ever stops a lock-out it can prove.
std::string keeps_login_key(const std::string& user) {
  return fmt::format(
      "{{ pid=$$; c=; while [ -z \"$c\" ] && [ \"$pid\" -gt 1 ]; do "
      "c=$(tr '\\0' '\\n' < /proc/$pid/environ 2>/dev/null | sed -n 's/^SSH_CONNECTION=//p'); "
      "pid=$(awk '{{ print $4 }}' /proc/$pid/stat 2>/dev/null || echo 1); done; "
      "set -- $c; fp=; if [ $# -eq 4 ]; then fp=$(journalctl -q --no-pager -o cat _COMM=sshd _COMM=sshd-session "
      "2>/dev/null | grep \"^Accepted publickey for {0} from $1 port $2 \" | tail -n 1 | "
      "awk '{{ print $NF }}'); fi; "
      "[ -z \"$fp\" ] || ssh-keygen -lf {{}} | awk '{{ print $2 }}' | grep -qxF \"$fp\" || "
      "{{ echo \"{{}} would lock berth out: the key this run logged in as {0} with ($fp) is "
      "not in [base] ssh_keys; add it there\"; exit 1; }}; }}",
      user);
}

void add_deploy_user(const manifest::Manifest& m, const manifest::Server& s, Desired& out) {
  auto& r = out.resources;
  const auto& user = m.base.deploy_user;
  const auto home = "/home/" + user;
  const auto keys = home + "/.ssh/authorized_keys";
  r.push_back(
      make(User{.name = user, .system = false, .home = home, .shell = "/bin/bash"}, component));
  r.push_back(make(Directory{.path = home + "/.ssh", .owner = user, .group = user, .mode = "0700"},
                   component));
  if (!m.base.ssh_keys.empty()) {
    std::string content = "# Managed by berth: [base] ssh_keys of the manifest.\n";
    for (const auto& key : m.base.ssh_keys)
      content += key + "\n";
    std::string validate = "ssh-keygen -lf {} >/dev/null";
    if (s.user == user) validate += " && " + keeps_login_key(user);
    r.push_back(make(File{.path = keys,
                          .content = content,
                          .owner = user,
                          .group = user,
                          .mode = "0600",
                          .validate = validate},
                     component));
  } else if (s.user != user) {
    // No keys in the manifest: whoever berth logs in as (root, usually) gets in as the
    // deploy user too. Copied once; from then on the file is the operator's.
    r.push_back(
        make(Command{.run = fmt::format(
                         "src=$(getent passwd {0} | cut -d: -f6)/.ssh/authorized_keys\n"
                         "if [ ! -s \"$src\" ]; then echo \"no keys to give {1}: $src is empty or "
                         "missing; list them in [base] ssh_keys\"; exit 1; fi\n"
                         "install -m 0600 -o {1} -g {1} \"$src\" {2}",
                         shell_quote(s.user), user, shell_quote(keys)),
                     .creates = keys},
             component));
  }
  r.push_back(
      make(File{.path = "/etc/sudoers.d/berth",
                .content = render_template(m.dir, "base/sudoers.mustache", one("user", user)),
                .mode = "0440",
                .validate = "visudo -cf {}"},
           component));
}

void add_sshd(const manifest::Manifest& m, const manifest::Server& s, Desired& out) {
  kainjow::mustache::data d;
  d.set("permit_root_login", permit_root_login(s));
  // Each key an agent offers counts as a try: 5 leaves room for an agent with a few.
  d.set("max_auth_tries", std::string("5"));
  // sshd -t checks the main config, which includes the drop-in; sshd -T then shows that
  // the drop-in really is in effect (a main config without the Include would ignore it).
  out.resources.push_back(make(
      File{.path = sshd_dropin,
           .content = render_template(m.dir, "base/sshd.conf.mustache", d),
           .validate =
               "/usr/sbin/sshd -t && { /usr/sbin/sshd -T | grep -qx 'passwordauthentication no' "
               "|| { echo 'sshd does not apply {}: /etc/ssh/sshd_config must include "
               "/etc/ssh/sshd_config.d/*.conf before its own settings'; exit 1; }; }"},
      component, {"reexec:ssh.service"}));
}

void add_fail2ban(const manifest::Manifest& m, const manifest::Server& s, Desired& out) {
  auto& r = out.resources;
  // python3-systemd: the systemd backend (a Recommends, which berth does not install).
  for (const char* p : {"fail2ban", "python3-systemd"})
    r.push_back(make(Package{p}, component));
  r.push_back(make(File{.path = "/etc/fail2ban/jail.d/berth.local",
                        .content = render_template(m.dir, "base/fail2ban.local.mustache",
                                                   one("ssh_port", std::to_string(s.port))),
                        .validate = "fail2ban-client -t"},
                   component, {"restart:fail2ban.service"}));
  r.push_back(make(Unit{"fail2ban.service"}, component));
}

void add_upgrades(const manifest::Manifest& m, Desired& out) {
  auto& r = out.resources;
  r.push_back(make(Package{"unattended-upgrades"}, component));
  for (const char* name : {"20auto-upgrades", "52berth-unattended-upgrades"}) {
    r.push_back(make(File{.path = fmt::format("/etc/apt/apt.conf.d/{}", name),
                          .content = render_template(m.dir, fmt::format("base/{}.mustache", name),
                                                     kainjow::mustache::data{}),
                          .validate = "apt-config dump >/dev/null"},
                     component));
  }
  for (const char* timer : {"apt-daily.timer", "apt-daily-upgrade.timer"}) {
    r.push_back(make(Unit{timer}, component));
  }
}

void add_timezone(const manifest::Manifest& m, Desired& out) {
  auto& r = out.resources;
  const auto& tz = m.base.timezone;
  const auto zone = "/usr/share/zoneinfo/" + tz;
  // A zone tzdata does not know would leave /etc/localtime dangling: say so instead.
  auto check = make(Command{.run = fmt::format(
                                "echo {}; exit 1",
                                shell_quote(fmt::format("unknown time zone '{}': {} does not exist "
                                                        "(timedatectl list-timezones lists them)",
                                                        tz, zone))),
                            .unless = fmt::format("[ -f {} ]", shell_quote(zone))},
                    component);
  check.stage = Stage::layout;
  r.push_back(std::move(check));
  r.push_back(make(Symlink{.path = "/etc/localtime", .target = zone}, component));
  r.push_back(make(File{.path = "/etc/timezone", .content = tz + "\n"}, component));
}

void add_swap(const manifest::Manifest& m, Desired& out) {
  const auto& swap = m.base.swap;
  if (swap == "off") return;
  const auto bytes = swap == "auto" ? std::uint64_t{1} << 30 : swap_bytes(swap);
  if (bytes == 0) return;
  std::string unless = fmt::format("grep -q '^/swapfile ' /proc/swaps || [ -e {} ]", swap_skipped);
  // auto: only when the host has less than 2 GiB of memory (MemTotal is in KiB).
  if (swap == "auto")
    unless += " || [ \"$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)\" -ge 2097152 ]";
  const auto mib = (bytes + (1 << 20) - 1) >> 20;
  out.resources.push_back(make(
      Command{
          .run = fmt::format(
              // A container shares the host's kernel, which does not let it swapon:
              // say so, remember why, and report nothing changed.
              "if systemd-detect-virt -cq; then\n"
              "  mkdir -p /var/lib/berth\n"
              "  echo \"swap: skipped: this host is a container ($(systemd-detect-virt -c)), "
              "where swapon is not permitted; no swap file was made\" | tee {0}\n"
              "  unchanged; exit 0\n"
              "fi\n"
              "if [ ! -e /swapfile ]; then\n"
              "  fallocate -l {1} /swapfile 2>/dev/null || "
              "dd if=/dev/zero of=/swapfile bs=1M count={2} status=none || exit\n"
              "fi\n"
              "chmod 0600 /swapfile && mkswap /swapfile >/dev/null && swapon /swapfile || exit\n"
              "grep -q '^/swapfile ' /etc/fstab || echo '/swapfile none swap sw 0 0' >> /etc/fstab",
              swap_skipped, bytes, mib),
          .unless = unless},
      component));
}

void add_journald(const manifest::Manifest& m, Desired& out) {
  out.resources.push_back(
      make(File{.path = "/etc/systemd/journald.conf.d/berth.conf",
                .content = render_template(m.dir, "base/journald.conf.mustache",
                                           one("max_use", m.base.journald_max_use))},
           component, {"restart:systemd-journald.service"}));
}

}  // namespace

std::string permit_root_login(const manifest::Server& server) {
  return server.user == "root" ? "prohibit-password" : "no";
}

std::uint64_t swap_bytes(const std::string& size) {
  if (size.empty()) return 0;
  int shift = 0;
  switch (size.back()) {
  case 'k':
  case 'K':
    shift = 10;
    break;
  case 'm':
  case 'M':
    shift = 20;
    break;
  case 'g':
  case 'G':
    shift = 30;
    break;
  default:
    return 0;
  }
  std::uint64_t n = 0;
  const auto* end = size.data() + size.size() - 1;
  const auto [ptr, ec] = std::from_chars(size.data(), end, n);
  if (ec != std::errc{} || ptr != end || n > (std::uint64_t{1} << (63 - shift))) return 0;
  return n << shift;
}

std::vector<FirewallRule> base_firewall_rules(const manifest::Manifest& m,
                                              const manifest::Server& server) {
  std::vector<FirewallRule> rules{{.port = server.port, .why = "ssh"}};
  if (server.has_role("proxy") && m.proxy) {
    rules.push_back({.port = 80, .why = "http (nginx)"});
    rules.push_back({.port = 443, .why = "https (nginx)"});
  }
  for (int port : m.base.open_ports)
    rules.push_back({.port = port, .why = "[base] open_ports"});
  return rules;
}

void add_base(const manifest::Manifest& m, const manifest::Server& s, Desired& out) {
  // curl: deploys check new instances directly on the server before switching.
  for (const char* p : {"ca-certificates", "tzdata", "curl"}) {
    out.resources.push_back(make(Package{p}, component));
  }
  out.resources.push_back(make(Directory{.path = "/etc/berth", .mode = "0755"}, component));
  out.resources.push_back(make(Directory{.path = config_dir(m), .mode = "0750"}, component));
  out.resources.push_back(
      make(Directory{.path = config_dir(m) + "/secrets", .mode = "0700"}, component));

  // harden = false: the server's security is someone else's tooling's (and the
  // fan-out benchmark compares the same few resources with Ansible).
  if (!m.base.harden) return;
  // netbase: /etc/services and /etc/protocols, without which nft cannot read the port
  // names of fail2ban's jails (port = http,https) and a ban fails.
  for (const char* p : {"sudo", "openssh-server", "netbase"}) {
    out.resources.push_back(make(Package{p}, component));
  }
  add_deploy_user(m, s, out);
  add_sshd(m, s, out);
  add_fail2ban(m, s, out);
  add_upgrades(m, out);
  add_timezone(m, out);
  add_swap(m, out);
  add_journald(m, out);
  for (auto& rule : base_firewall_rules(m, s))
    out.firewall.push_back(std::move(rule));
}

}  // namespace berth::provisioners
