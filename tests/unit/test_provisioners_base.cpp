#include <core/error.hpp>
#include <provisioners/base/base.hpp>
#include <provisioners/provisioner.hpp>
#include <tests/unit/desired.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace berth;
using namespace berth::converge;
using berth::test::has;
using berth::test::find;
using berth::test::file;

namespace {

manifest::Manifest base_sample() {
  manifest::Manifest m;
  m.app.name = "shop";
  m.app.run.command = "node server.js";
  m.app.run.port = 3000;
  m.app.run.instances = 1;
  m.servers = {{.name = "web", .address = "198.18.0.2"}};
  m.databases = {{.key = "main",
                  .engine = manifest::Engine::postgresql,
                  .name = "shop",
                  .user = "shop",
                  .env_var = "DATABASE_URL"}};
  m.proxy = manifest::Proxy{};
  return m;
}

provisioners::Desired desired(const manifest::Manifest& m, const manifest::Server& s,
                              const std::vector<std::string>& components = {}) {
  manifest::SecretSources secrets(m, [](const std::string&) { return std::nullopt; });
  return provisioners::desired_state(m, s, secrets, components);
}

// The rule lines of a rendered ruleset ("tcp dport 22 accept ..."), in order.
std::vector<std::string> accept_rules(const std::string& ruleset) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < ruleset.size()) {
    auto eol = ruleset.find('\n', pos);
    if (eol == std::string::npos) eol = ruleset.size();
    auto line = ruleset.substr(pos, eol - pos);
    pos = eol + 1;
    line.erase(0, line.find_first_not_of(' '));
    if (has(line, "dport")) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_CASE("base: a deploy user with the manifest's keys and validated passwordless sudo") {
  auto m = base_sample();

  SECTION("keys from the manifest are the whole authorized_keys, checked by ssh-keygen") {
    m.base.ssh_keys = {"ssh-ed25519 AAAAC3Nza me@laptop"};
    const auto d = desired(m, m.servers[0]);
    const auto* user = find(d, "user:deploy");
    REQUIRE(user);
    CHECK(std::get<User>(user->spec).shell == "/bin/bash");
    CHECK_FALSE(std::get<User>(user->spec).system);
    const auto& keys = file(d, "/home/deploy/.ssh/authorized_keys");
    CHECK(keys.owner == "deploy");
    CHECK(keys.mode == "0600");
    CHECK(has(keys.content, "ssh-ed25519 AAAAC3Nza me@laptop\n"));
    CHECK(has(keys.validate, "ssh-keygen -lf {}"));
    CHECK(std::get<Directory>(find(d, "directory:/home/deploy/.ssh")->spec).mode == "0700");
  }
  SECTION("when berth logs in as the deploy user, its own key must stay in the keys") {
    m.base.ssh_keys = {"ssh-ed25519 AAAAC3Nza me@laptop"};
    m.servers[0].user = "deploy";
    const auto d = desired(m, m.servers[0]);
    const auto& keys = file(d, "/home/deploy/.ssh/authorized_keys");
    CHECK(keys.validate.starts_with("ssh-keygen -lf {} >/dev/null && { "));
    CHECK(has(keys.validate, "SSH_CONNECTION"));
    CHECK(has(keys.validate, "\"^Accepted publickey for deploy from $1 port $2 \""));
    CHECK(has(keys.validate, "would lock berth out"));
    m.servers[0].user = "root";  // root still gets in: no such check
    CHECK(file(desired(m, m.servers[0]), "/home/deploy/.ssh/authorized_keys").validate ==
          "ssh-keygen -lf {} >/dev/null");
  }
  SECTION("without keys, root's are copied once by a guarded command") {
    const auto d = desired(m, m.servers[0]);
    const auto* copy = find(d, "command:/home/deploy/.ssh/authorized_keys");
    REQUIRE(copy);
    const auto& c = std::get<Command>(copy->spec);
    CHECK(c.creates == "/home/deploy/.ssh/authorized_keys");
    CHECK(has(c.run, "getent passwd 'root'"));
    CHECK(has(c.run, "[base] ssh_keys"));  // what next, when root has no keys either
  }
  SECTION("without keys, when berth logs in as the deploy user, its keys are left alone") {
    m.servers[0].user = "deploy";
    const auto d = desired(m, m.servers[0]);
    CHECK_FALSE(find(d, "command:/home/deploy/.ssh/authorized_keys"));
    CHECK_FALSE(find(d, "file:/home/deploy/.ssh/authorized_keys"));
  }
  SECTION("sudoers names the manifest's deploy user and is checked by visudo") {
    m.base.deploy_user = "ops";
    const auto d = desired(m, m.servers[0]);
    const auto& sudoers = file(d, "/etc/sudoers.d/berth");
    CHECK(has(sudoers.content, "\nops ALL=(ALL:ALL) NOPASSWD: ALL\n"));
    CHECK(sudoers.mode == "0440");
    CHECK(sudoers.validate == "visudo -cf {}");
    CHECK(find(d, "package:sudo"));
  }
}

TEST_CASE("base: sshd refuses passwords and root logs in only while berth needs it") {
  auto m = base_sample();

  SECTION("berth logs in as root: root keeps key logins") {
    const auto d = desired(m, m.servers[0]);
    const auto* r = find(d, std::string("file:") + provisioners::sshd_dropin);
    REQUIRE(r);
    const auto& f = std::get<File>(r->spec);
    CHECK(has(f.content, "\nPermitRootLogin prohibit-password\n"));
    for (const char* line : {"PasswordAuthentication no", "KbdInteractiveAuthentication no",
                             "PermitEmptyPasswords no", "MaxAuthTries 5", "X11Forwarding no"}) {
      CHECK(has(f.content, std::string("\n") + line + "\n"));
    }
    CHECK(r->notify == std::vector<std::string>{"reexec:ssh.service"});
    // The drop-in is checked through the main config, and shown to be in effect.
    CHECK(f.validate.starts_with("/usr/sbin/sshd -t && "));
    CHECK(has(f.validate, "sshd -T | grep -qx 'passwordauthentication no'"));
  }
  SECTION("berth logs in as the deploy user: root login is off") {
    m.servers[0].user = "deploy";
    const auto d = desired(m, m.servers[0]);
    CHECK(has(file(d, provisioners::sshd_dropin).content, "\nPermitRootLogin no\n"));
  }
  SECTION("the rule itself") {
    manifest::Server s;
    CHECK(provisioners::permit_root_login(s) == "prohibit-password");
    s.user = "admin";
    CHECK(provisioners::permit_root_login(s) == "no");
  }
}

TEST_CASE("base: the firewall drops by default and opens ssh, the proxy and open ports") {
  auto m = base_sample();
  m.base.open_ports = {8443};

  SECTION("one host with every role") {
    const auto d = desired(m, m.servers[0]);
    const auto& f = file(d, provisioners::nftables_conf);
    CHECK(has(f.content, "policy drop;"));
    CHECK(has(f.content, "table inet berth\ndelete table inet berth\n"));
    // By number: names need /etc/protocols, which a minimal Debian lacks.
    CHECK(has(f.content, "meta l4proto { 1, 58 } accept"));
    // Established connections (berth's own SSH session) are accepted before any port.
    const auto established = f.content.find("ct state established,related accept");
    REQUIRE(established != std::string::npos);
    CHECK(established < f.content.find("dport"));
    // The host's ruleset opens ssh and includes each app's file, which opens the rest.
    CHECK(accept_rules(f.content) == std::vector<std::string>{"tcp dport 22 accept comment \"ssh\""});
    CHECK(has(f.content, "include \"/etc/berth/firewall.d/*.nft\""));
    const auto& own = file(d, "/etc/berth/firewall.d/shop.nft");
    CHECK(has(own.validate, "nft -c -f /dev/stdin"));
    CHECK(find(d, "file:/etc/berth/firewall.d/shop.nft")->notify == std::vector<std::string>{"reload:nftables.service"});
    CHECK(accept_rules(f.content + own.content) ==
          std::vector<std::string>{"tcp dport 22 accept comment \"ssh\"",
                                   "tcp dport 80 accept comment \"http (nginx)\"",
                                   "tcp dport 443 accept comment \"https (nginx)\"",
                                   "tcp dport 8443 accept comment \"[base] open_ports\""});
    CHECK(has(f.validate, "nft -c -f {}"));
    CHECK(has(f.validate, "sshd -T"));  // sshd's real ports must stay open
    CHECK(find(d, "file:" + std::string(provisioners::nftables_conf))->notify ==
          std::vector<std::string>{"reload:nftables.service"});
    CHECK(find(d, "unit:nftables.service"));
    CHECK(find(d, "package:nftables"));
    // The databases listen privately: nothing opens 5432.
    CHECK_FALSE(has(f.content, "5432"));
  }
  SECTION("a host without the proxy role keeps 80 and 443 closed; ssh follows its port") {
    m.servers[0].roles = {"db"};
    m.servers[0].port = 2222;
    const auto d = desired(m, m.servers[0]);
    const auto rules = accept_rules(file(d, provisioners::nftables_conf).content +
                                    file(d, "/etc/berth/firewall.d/shop.nft").content);
    CHECK(rules == std::vector<std::string>{"tcp dport 2222 accept comment \"ssh\"",
                                            "tcp dport 8443 accept comment \"[base] open_ports\""});
  }
  SECTION("a converge of base alone keeps the ports of the host's other components") {
    m.proxy.reset();
    const auto all = desired(m, m.servers[0]);
    const auto base_only = desired(m, m.servers[0], {"base"});
    CHECK(file(base_only, provisioners::nftables_conf).content ==
          file(all, provisioners::nftables_conf).content);
    CHECK_FALSE(find(base_only, "package:postgresql"));
  }
  SECTION("no firewall when base is not converged") {
    CHECK_FALSE(find(desired(m, m.servers[0], {"app"}), "file:/etc/nftables.conf"));
  }
}

TEST_CASE("base: firewall rules of other components are rendered after all ran") {
  const auto m = base_sample();
  using provisioners::FirewallRule;
  const std::vector<FirewallRule> rules{
      {.port = 22, .why = "ssh"},
      {.port = 5432, .from = "198.18.0.3", .why = "postgresql for app"},
      {.port = 5432, .from = "198.18.0.3", .why = "postgresql for jobs"},
      {.port = 6379, .from = "fd00::/64", .why = "redis \"private\""},
      {.port = 51820, .proto = "udp", .why = "wireguard"},
      {.port = 22, .why = "ssh"}};
  const auto text = provisioners::render_firewall(m, rules);
  CHECK(accept_rules(text) ==
        std::vector<std::string>{
            "tcp dport 22 accept comment \"ssh\"",
            "ip saddr 198.18.0.3 tcp dport 5432 accept comment \"postgresql for app, postgresql "
            "for jobs\"",
            "ip6 saddr fd00::/64 tcp dport 6379 accept comment \"redis 'private'\"",
            "udp dport 51820 accept comment \"wireguard\""});

  SECTION("a rule no provisioner should make is a bug, not a silent hole") {
    for (const auto& bad : {FirewallRule{.port = 0}, FirewallRule{.port = 70000},
                            FirewallRule{.port = 80, .proto = "sctp"},
                            FirewallRule{.port = 80, .from = "1.2.3.4; accept"}}) {
      CHECK_THROWS_AS(provisioners::render_firewall(m, {bad}), Error);
    }
  }
}

TEST_CASE("base: fail2ban, upgrades, time zone, journald") {
  auto m = base_sample();
  m.base.timezone = "Europe/Paris";
  m.base.journald_max_use = "200M";
  m.servers[0].port = 2200;
  const auto d = desired(m, m.servers[0]);

  SECTION("fail2ban's sshd jail reads the journal and bans with nftables") {
    const auto& jail = file(d, "/etc/fail2ban/jail.d/berth.local");
    CHECK(has(jail.content, "[sshd]\nenabled = true\nbackend = systemd\nport = 2200\n"));
    CHECK(has(jail.content, "banaction = nftables-multiport"));
    CHECK(jail.validate == "fail2ban-client -t");
    CHECK(find(d, "package:fail2ban"));
    CHECK(find(d, "package:python3-systemd"));
    CHECK(find(d, "unit:fail2ban.service"));
  }
  SECTION("unattended upgrades run daily and take security updates only") {
    CHECK(has(file(d, "/etc/apt/apt.conf.d/20auto-upgrades").content,
              "APT::Periodic::Unattended-Upgrade \"1\";"));
    const auto& origins = file(d, "/etc/apt/apt.conf.d/52berth-unattended-upgrades");
    CHECK(has(origins.content, "#clear Unattended-Upgrade::Origins-Pattern;"));
    CHECK(has(origins.content, "label=Debian-Security"));
    CHECK_FALSE(has(origins.content, "label=Debian\""));
    CHECK(origins.validate == "apt-config dump >/dev/null");
    CHECK(find(d, "package:unattended-upgrades"));
    CHECK(find(d, "unit:apt-daily-upgrade.timer"));
  }
  SECTION("time zone: a symlink and /etc/timezone, after checking tzdata knows it") {
    const auto* link = find(d, "symlink:/etc/localtime");
    REQUIRE(link);
    CHECK(std::get<Symlink>(link->spec).target == "/usr/share/zoneinfo/Europe/Paris");
    CHECK(file(d, "/etc/timezone").content == "Europe/Paris\n");
    const auto* check = find(d, "command:[ -f '/usr/share/zoneinfo/Europe/Paris' ]");
    REQUIRE(check);
    CHECK(check->stage == link->stage);
  }
  SECTION("journald's cap, restarting journald") {
    const auto* r = find(d, "file:/etc/systemd/journald.conf.d/berth.conf");
    REQUIRE(r);
    CHECK(has(std::get<File>(r->spec).content, "[Journal]\nSystemMaxUse=200M\n"));
    CHECK(r->notify == std::vector<std::string>{"restart:systemd-journald.service"});
  }
}

TEST_CASE("base: swap file by memory, size or off; skipped and said in a container") {
  auto m = base_sample();
  provisioners::Desired d;
  const auto swap_command = [&]() -> const Command* {
    d = desired(m, m.servers[0]);
    for (const auto& r : d.resources) {
      if (const auto* c = std::get_if<Command>(&r.spec); c && has(c->run, "swapon")) return c;
    }
    return nullptr;
  };

  SECTION("auto: 1 GiB, only under 2 GiB of memory") {
    const auto* c = swap_command();
    REQUIRE(c);
    CHECK(has(c->run, "fallocate -l 1073741824 /swapfile"));
    CHECK(has(c->unless, "-ge 2097152"));
    CHECK(has(c->unless, "grep -q '^/swapfile ' /proc/swaps"));
    // In a container: says why, leaves a note that keeps re-runs quiet, changes nothing.
    CHECK(has(c->run, "systemd-detect-virt -cq"));
    CHECK(has(c->run, "swapon is not permitted"));
    CHECK(has(c->run, "unchanged; exit 0"));
    CHECK(has(c->unless, "/var/lib/berth/swap-skipped"));
  }
  SECTION("a size: whatever the memory") {
    m.base.swap = "512M";
    const auto* c = swap_command();
    REQUIRE(c);
    CHECK(has(c->run, "fallocate -l 536870912 /swapfile"));
    CHECK(has(c->run, "count=512 "));
    CHECK_FALSE(has(c->unless, "MemTotal"));
  }
  SECTION("off: nothing") {
    m.base.swap = "off";
    CHECK_FALSE(swap_command());
  }
  SECTION("sizes") {
    CHECK(provisioners::swap_bytes("1G") == 1073741824);
    CHECK(provisioners::swap_bytes("2048k") == 2097152);
    CHECK(provisioners::swap_bytes("1") == 0);
    CHECK(provisioners::swap_bytes("G") == 0);
    CHECK(provisioners::swap_bytes("99999999999999G") == 0);
  }
}

TEST_CASE("base: harden = false keeps only berth's own folders and tools") {
  auto m = base_sample();
  m.base.harden = false;
  const auto d = desired(m, m.servers[0], {"base"});
  std::vector<std::string> ids;
  for (const auto& r : d.resources)
    ids.push_back(r.id());
  CHECK(ids == std::vector<std::string>{"package:ca-certificates", "package:tzdata", "package:curl",
                                        "directory:/etc/berth", "directory:/etc/berth/shop",
                                        "directory:/etc/berth/shop/secrets", "directory:/etc/berth/apps.d",
                                        "file:/etc/berth/apps.d/shop.claim", "command:origin:shop"});
  CHECK(d.firewall.empty());
}
